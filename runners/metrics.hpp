// Reading a results file's trials by metric name — the one vocabulary that expectations,
// `compare --metric`, the ledger and the tables all use — and naming a trial's point.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::runner {

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

// The chapter descriptions a results file carries, and for a chapter it carries none of (a file
// from before they were recorded), a stand-in whose option defaults are the values all of that
// chapter's trials share — so point names still show only what varies.
nlohmann::json chapter_descriptions(const nlohmann::json& results);

// "tasks=100 policy=fail-fast": the parameters of `params` that differ from the chapter's
// defaults in `description` (all of them when there is no description).
std::string point_name(const nlohmann::json& params, const nlohmann::json& description, const char* sep = " ",
                       const char* eq = "=");

// The trials among these that succeeded (status "ok").
std::vector<const nlohmann::json*> ok_only(const std::vector<const nlohmann::json*>& trials);

}  // namespace wb::runner
