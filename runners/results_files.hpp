// What every command that reads result files shares: loading one (a bad file is a UsageError,
// exit 2), the chapter descriptions to judge it by, writing a JSON answer, and a line saying
// where a file was measured.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "common/usage_error.hpp"

namespace wb::runner {

using wb::UsageError;

// read_results, with its message turned into a UsageError.
nlohmann::json load_results(const std::string& path);

// The chapter descriptions to judge a file by: the file's own, overridden by `current` — the
// --describe output of the chapters this build has (what the code declares now is what CI
// checks) — for the chapters the file has trials of.
nlohmann::json descriptions_for(const nlohmann::json& doc, const nlohmann::json& current);

// A JSON answer to `out` (atomically), or to stdout when `out` is empty or "-".
void write_json_or_stdout(const std::string& out, const nlohmann::json& doc);

// "host, 2 cpus, git abc123, 2026-11-28": where and when a results file was measured.
std::string context_line(const nlohmann::json& doc);

// `s` cut to `width` characters ("~" marks the cut), for a table's column.
std::string fit(std::string s, std::size_t width);

}  // namespace wb::runner
