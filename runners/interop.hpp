// Other tools' formats and other machines' files: `workbench export --format gbench` (Google
// Benchmark's JSON, for compare.py and dashboards) and `workbench merge` (several machines'
// files in one).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::runner {

// Google Benchmark's JSON (context + benchmarks): a benchmark per trial named
// "chapter/variant/key:value/..." (the parameters that differ from the chapter's defaults), with
// real_time = wall time and cpu_time = user + system CPU in ms, plus median / mean / stddev
// aggregates per name, so compare.py and benchmark dashboards read our runs.
nlohmann::json export_gbench(const nlohmann::json& results);

// Bencher's BMF JSON: the same benchmark names, each with measures wall-time, latency (p50) and
// latency-p99 (ns), throughput (ops/s), cpu-time (ns), peak-rss-kib and peak-threads: the median
// of the repetitions that succeeded as `value`, their min and max as `lower_value`/`upper_value`.
nlohmann::json export_bmf(const nlohmann::json& results);

// HdrHistogram's percentile distribution (.hgrm) of one trial's latency histogram, values in
// microseconds, each percentile computed as the workbench computes every percentile it prints
// (so the p50/p90/p99/p99.9 rows equal the record's).  Throws std::invalid_argument for a trial
// without a latency histogram.
std::string export_hgrm(const nlohmann::json& trial);

// One document holding every trial of the given ones, each trial keeping its machine's label in
// `host` (the run's --label, else its host name; with label_from_filename, the file's name
// without directory and extension) and a `source` index into a top-level `sources` list of the
// files' contexts.  What would make the class's figures mislead is said in `warnings`: two files
// that share a label (their trials pool as one machine's), files from different commits, a
// chapter described differently in two files.  Throws std::invalid_argument when given nothing.
struct Merged {
  nlohmann::json doc;
  std::vector<std::string> warnings;
};
Merged merge_results(const std::vector<nlohmann::json>& docs, const std::vector<std::string>& names,
                     bool label_from_filename = false);

// trial: the index of the trial --format hgrm reads (-1: none given).
int cmd_export(const std::string& path, const std::string& format, const std::string& out, long trial);

int cmd_merge(const std::vector<std::string>& paths, const std::string& out, bool label_from_filename);

}  // namespace wb::runner
