// `workbench compare OLD NEW`: per chapter, variant, point and metric, the change between two
// runs, with a test that says whether it is beyond noise (a Mann-Whitney U test, or a bootstrap
// interval when there are too few repetitions for one).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::runner {

struct CompareOptions {
  std::vector<std::string> metrics = {"wall_s", "throughput_ops_s", "latency_us.p50", "latency_us.p99",
                                      "cpu_s",  "peak_rss_kib",     "peak_threads"};
  double threshold = 0.05;  // a relative change smaller than this is noise, however significant
  double alpha = 0.05;
};

struct Change {
  std::string chapter, variant, metric;
  nlohmann::json params;
  std::vector<double> old_values, new_values;
  double old_median = 0, new_median = 0;
  double change = 0;               // new / old - 1 (0 when old is 0 and new is 0)
  std::string test;                // "U" | "bootstrap" (too few repetitions for U) | "none"
  double p = 1;                    // the U test's p-value when test == "U"
  double ci_low = 0, ci_high = 0;  // the bootstrap interval of the change when test == "bootstrap"
  bool beyond_noise = false;       // significant and larger than the threshold
  std::string verdict;             // "same" | "better" | "worse" | "changed" (no better direction)
};

struct CompareReport {
  std::vector<Change> changes;
  std::vector<std::string> unmatched;  // "fan-out async tasks=100: only in OLD"
  bool regression() const;
};

CompareReport compare_results(const nlohmann::json& old_doc, const nlohmann::json& new_doc,
                              const CompareOptions& options);
nlohmann::json to_json(const CompareReport& report, const CompareOptions& options);

int cmd_compare(const std::string& old_path, const std::string& new_path, const CompareOptions& options,
                const std::string& json_out, bool fail_on_regression, bool changed_only);

}  // namespace wb::runner
