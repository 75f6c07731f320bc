// Chapter's state, shared by the files that implement it: chapter.cpp (declaring, parsing,
// describing, running a variant here) and run_each.cpp (running each variant in a child).
// Not for chapters: they use common/chapter.hpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/chapter.hpp"
#include "common/options.hpp"

namespace wb {

struct Chapter::Impl {
  ChapterInfo info;
  Options knobs;
  nlohmann::json counter_docs = nlohmann::json::array();
  nlohmann::json series_docs = nlohmann::json::array();
  nlohmann::json quick = nlohmann::json::object();
  nlohmann::json quick_points = nlohmann::json::array();
  std::vector<Expectation> expectations;
  std::vector<Prediction> predictions;

  std::string mode = "all";
  std::string json_out;
  std::string trace_file;
  bool narrate = false;
  bool describe = false;
  std::int64_t seed = 1;
  // helper_process(): the knob, its "a trial as usual" value, and what runs otherwise.
  std::string helper_name;
  std::string* helper_var = nullptr;
  std::string helper_off;
  std::function<int(std::int64_t)> helper;

  // The knobs' values and --seed: the trial's `params`.
  nlohmann::json params() const {
    auto p = knobs.values();
    p["seed"] = seed;
    return p;
  }
  // The same as command-line words, for a child running one variant.
  std::vector<std::string> knob_args() const {
    auto a = knobs.args();
    a.push_back("--seed");
    a.push_back(std::to_string(seed));
    return a;
  }

  std::vector<std::string> variant_names() const;
  nlohmann::json predictions_json() const;                       // --describe's "predictions"
  const std::string& baseline() const { return info.baseline; }  // filled in by the constructor
  // The variants --mode names, in the chapter's order.  Throws UsageError for a name it lacks.
  std::vector<std::string> selected() const;
  Variant variant(const std::string& name) const;

  // Prints the table (and writes --json); returns 1 when the --json file cannot be written.
  int emit(const std::vector<TrialRecord>& records) const;
  int run_here(const Variant& v, const std::function<void(const Variant&, Run&)>& body, TrialRecord* out) const;
  int run_each(const std::vector<std::string>& names) const;  // run_each.cpp
};

}  // namespace wb
