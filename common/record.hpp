// One variant run as data (a "trial record"), the results file that holds many of them, and
// the atomic write that keeps that file whole.  Field names, their units and meanings, and the
// file's shape: results/schema.json (the README's "Reading the results" says how to read them).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/format.hpp"
#include "common/histogram.hpp"
#include "common/resources.hpp"

namespace wb {

inline constexpr const char* kResultsSchema = "workbench.results/1";
inline constexpr int kResultsSchemaMajor = 1;
inline constexpr std::size_t kSeriesPoints = 400;

struct Metrics {
  double wall_s = 0;
  std::uint64_t ops = 0;
  double throughput_ops_s = 0;
  LatencySummary latency;
  ResourceUsage resources;
};

struct TrialRecord {
  std::string chapter;
  std::string variant;                               // one of the chapter's variants: "sync", "async"
  nlohmann::json params = nlohmann::json::object();  // knob (snake_case) -> value
  int repetition = 0;                                // set by the runner
  std::string status = "ok";                         // "ok" | "failed" | "timeout" | "interrupted"
  std::string reason;                                // why, when status != "ok"
  Metrics metrics;
  std::map<std::string, double> counters;   // scenario-specific numbers
  std::map<std::string, std::string> info;  // scenario-specific facts (e.g. which backend ran)
  // Scenario-specific values over time (queue depth, loop lag): name -> [seconds since the
  // measured region began, value], at most kSeriesPoints each (Run::sample).
  std::map<std::string, std::vector<std::array<double, 2>>> series;
  std::string result_digest;  // digest of the observable result both variants compute
};

void to_json(nlohmann::json& j, const TrialRecord& r);
void from_json(const nlohmann::json& j, TrialRecord& r);

// The context block: where and with what a run was measured.
nlohmann::json make_context();

// A results document with the given trials and, when given, each chapter's --describe output
// keyed by name (so a reader needs nothing but the file).
nlohmann::json make_results(const nlohmann::json& context, const nlohmann::json& trials,
                            const nlohmann::json& chapters = nlohmann::json());

// Reads a results file; throws std::runtime_error with a message a user can act on when the
// file is missing, not JSON, or of another schema major version.
nlohmann::json read_results(const std::string& path);

// Writes text to path so that a reader (or a crash) sees either the old file or the whole new
// one, never a prefix: write a temporary file in the same directory, fsync it, rename it over
// path, fsync the directory.  Throws std::system_error on failure, leaving path untouched.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace wb
