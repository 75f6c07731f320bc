// The runner's logic that does not start processes: which trials to run in which order, the
// parameters each one gets, and how repetitions are summarised.  Kept apart from workbench.cpp
// so the tests can check it directly.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::runner {

struct ChapterEntry {
  std::string name;
  std::string exe;
  nlohmann::json description;  // the chapter's --describe output
};

struct TrialSpec {
  const ChapterEntry* chapter = nullptr;
  std::string variant;            // one of the chapter's variants: "sync", "async-offload"
  nlohmann::json params;          // every parameter of the chapter, defaults filled in
  std::vector<std::string> args;  // the command-line words that set the non-default ones
  // The point this trial is at, as the plan made it: the chapter's declared quick point (or its
  // quick sweep's values), then the --sweep values, in that order — what a summary row names.
  // --set values are left out: every trial has them.
  std::vector<std::pair<std::string, std::string>> point;
  int repetition = 0;
};

struct PlanRequest {
  std::vector<const ChapterEntry*> chapters;
  std::vector<std::pair<std::string, std::string>> sets;                 // --set k=v
  std::vector<std::pair<std::string, std::vector<std::string>>> sweeps;  // --sweep k=v1,v2
  int repeat = 1;
  bool quick = false;  // add each chapter's declared quick sweep (for keys not swept already)
  // Which variants: "all" (or "both", its old name), or a comma-separated list of names.  A
  // chapter runs the listed variants it has; a name no chosen chapter has is refused.
  std::string mode = "all";
  // The points to run, for every chapter, instead of its defaults and quick points (`workbench
  // lab`'s: a point per question, and where its claims are measured).
  std::vector<std::vector<std::pair<std::string, std::string>>> points = {};
};

// A chapter's variants in its order, from its --describe ("sync", "async" for a description
// from before chapters declared them); and the one its ratios are taken against.
std::vector<std::string> variants_of(const nlohmann::json& description);
std::string baseline_of(const nlohmann::json& description);
// Whether the chapter declares that variant's process ends early by design (variant_info's
// ends_early): its times are no speed, and no ratio is shown for it.
bool ends_early(const nlohmann::json& description, const std::string& variant);

// The variants of `mode` this chapter has, in the chapter's order (maybe none).
std::vector<std::string> select_variants(const nlohmann::json& description, const std::string& mode);

// Throws std::invalid_argument with a message for the user (an unknown parameter, a value of
// the wrong type, a malformed k=v).
std::pair<std::string, std::string> parse_assignment(const std::string& text, const char* option);
std::pair<std::string, std::vector<std::string>> parse_sweep(const std::string& text);

// Order: per chapter, repetition by repetition, each parameter point once per repetition, and
// at each point the variants back to back (sync, async, sync, async, ...).  Throws
// std::invalid_argument for a --mode name that no chosen chapter has.  Drift over a long
// run (thermal, a noisy neighbour) then hits both variants and every point alike.
std::vector<TrialSpec> make_plan(const PlanRequest& request);

// A record whose numbers are the medians of the given records' numbers (field by field), and
// whose other fields are the first record's: the summary of repetitions.
nlohmann::json median_record(const std::vector<nlohmann::json>& records);

// Medians that also work for even counts (the mean of the two middle values).
double median(std::vector<double> values);

}  // namespace wb::runner
