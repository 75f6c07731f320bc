// What the runner does with a results file after the run: evaluate the chapters' declarations
// (`workbench check` for invariants, `workbench claims` for claims), compare two runs (`workbench compare`), export for Google
// Benchmark's tools and merge the files of several machines.  No processes, no I/O: the tests
// drive these directly with hand-made documents.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::runner {

// ---------------------------------------------------------------------------------------------
// Metrics by name, as expectations and `compare --metric` spell them.
//
// wall_s, ops, throughput_ops_s, cpu_user_s, cpu_sys_s, cpu_s (user + system), peak_rss_kib,
// start_rss_kib, peak_threads, start_threads, ctx_voluntary, ctx_involuntary, latency_us.p50 (and
// .mean .min .p90 .p99 .p999 .max; "p99_us" is accepted too), any counter by its bare name or
// as counters.NAME; result_digest and info.NAME are text.
std::optional<double> metric_number(const nlohmann::json& trial, const std::string& name);
std::optional<std::string> metric_text(const nlohmann::json& trial, const std::string& name);

// "12.3 ms", "4.1 MiB", "3.25": a value of that metric for a table.
std::string format_metric(const std::string& metric, double value);

// +1 when a larger value is better (throughput), -1 when smaller is (time, memory, threads),
// 0 when the metric has no better direction (a counter).
int better_direction(const std::string& metric);

// ---------------------------------------------------------------------------------------------
// workbench check (invariants) and workbench claims (verdicts)

// One declaration evaluated at one point.  An invariant ("kind" invariant, or no kind: files
// from before kinds) is judged on medians: pass | fail.  A claim gets a verdict from the
// repetitions' spread: holds (every bootstrap resample of the two medians is on the claim's
// side of the bound, at 95 %), does not hold (every one is on the other side), inconclusive
// (the interval straddles the bound, or a side has a single repetition).  Either kind may be
// missing (the file lacks the trials it needs) or n/a (its `only_if` excluded every trial).
struct Verdict {
  std::string chapter, id, kind, claim, text, why;
  std::string host;                // a merged file is checked host by host; "" otherwise
  std::string status;              // see above
  nlohmann::json point;            // the lhs side's parameters (missing: null, see `needs`)
  nlohmann::json needs;            // missing: the parameters a trial would need
  std::string op;                  // "<", "<=", ">", ">=", "=="
  std::string lhs, rhs;            // the values compared, as text ("12.3", "0.5 x 80.1 = 40.05")
  double margin = 0;               // how far inside (>1) or outside (<1) the bound; 0 when not numeric
  std::string detail;              // why missing, or the repetitions each side had
  // The evidence, when both sides are numbers: medians, lhs / rhs with its 95 % bootstrap
  // interval (NaN when rhs is 0 or a side is text), the bound (factor, or factor * constant)
  // and the successful repetitions on each side.
  double lhs_median = NAN, rhs_median = NAN, ratio = NAN, ratio_low = NAN, ratio_high = NAN;
  std::size_t n_lhs = 0, n_rhs = 0;
  bool is_claim() const { return kind == "claim"; }
};

struct CheckReport {
  std::vector<Verdict> verdicts;
  std::vector<std::string> not_run;   // chapters with expectations but no trials in the file
  // From the invariants only (a claim's verdict never changes an exit code): 1 when one
  // failed, else 3 when one lacks trials, else 0.
  int exit_code() const;
};

// `descriptions` maps a chapter name to its --describe output (it needs "expectations").
// Medians over the repetitions that succeeded; ratios only between trials of this document and,
// in a merged file, of the same host.
CheckReport check_expectations(const nlohmann::json& results, const nlohmann::json& descriptions);

// ---------------------------------------------------------------------------------------------
// Statistics for compare

// Two-sided Mann-Whitney U test p-value.  Exact (the U distribution counted by dynamic
// programming) when there are no ties and both samples are small, else the normal approximation
// with tie and continuity corrections.  1.0 when a side is empty.
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

// The smallest two-sided p-value an exact rank test can give with these sample sizes:
// 2 / C(n1 + n2, n1).  For 3 against 3 it is 0.1, so such a test can never reach p < 0.05.
double min_rank_p(std::size_t n1, std::size_t n2);

// Percentile bootstrap interval of median(b) / median(a) - 1 (a relative change), with a fixed
// seed so a report is reproducible.
std::pair<double, double> bootstrap_change_ci(const std::vector<double>& a, const std::vector<double>& b,
                                              double confidence = 0.95, int resamples = 4000,
                                              std::uint64_t seed = 0x5eed);

struct CompareOptions {
  std::vector<std::string> metrics = {"wall_s", "throughput_ops_s", "latency_us.p50", "latency_us.p99",
                                      "cpu_s", "peak_rss_kib", "peak_threads"};
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

CompareReport compare_results(const nlohmann::json& old_doc, const nlohmann::json& new_doc, const CompareOptions& options);
nlohmann::json to_json(const CompareReport& report, const CompareOptions& options);

// ---------------------------------------------------------------------------------------------
// Interop

// Google Benchmark's JSON (context + benchmarks): a benchmark per trial named
// "chapter/variant/key:value/..." (the parameters that differ from the chapter's defaults), with
// real_time = wall time and cpu_time = user + system CPU in ms, plus median / mean / stddev
// aggregates per name, so compare.py and benchmark dashboards read our runs.
nlohmann::json export_gbench(const nlohmann::json& results);

// One document holding every trial of the given ones, each trial keeping its host (and a
// `source` index into a top-level `sources` list of the files' contexts).  Throws
// std::invalid_argument when given nothing.
nlohmann::json merge_results(const std::vector<nlohmann::json>& docs, const std::vector<std::string>& names);

// The chapter descriptions a results file carries, and for a chapter it carries none of (a file
// from before they were recorded), a stand-in whose option defaults are the values all of that
// chapter's trials share — so point names still show only what varies.
nlohmann::json chapter_descriptions(const nlohmann::json& results);

// "tasks=100 policy=fail-fast": the parameters of `params` that differ from the chapter's
// defaults in `description` (all of them when there is no description).
std::string point_name(const nlohmann::json& params, const nlohmann::json& description, const char* sep = " ",
                       const char* eq = "=");

}  // namespace wb::runner
