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

// One document holding every trial of the given ones, each trial keeping its host (and a
// `source` index into a top-level `sources` list of the files' contexts).  Throws
// std::invalid_argument when given nothing.
nlohmann::json merge_results(const std::vector<nlohmann::json>& docs, const std::vector<std::string>& names);

int cmd_export(const std::string& path, const std::string& format, const std::string& out);

int cmd_merge(const std::vector<std::string>& paths, const std::string& out);

}  // namespace wb::runner
