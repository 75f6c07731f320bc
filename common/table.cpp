#include "common/table.hpp"

#include <algorithm>
#include <cmath>

#include "common/format.hpp"

namespace wb {

using nlohmann::json;

std::string params_line(const json& params) {
  std::string s;
  for (const auto& [k, v] : params.items()) {
    if (v.is_string() && v.get<std::string>().empty()) continue;
    if (!s.empty()) s += ' ';
    s += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return s;
}

void print_table(std::ostream& out, const std::vector<TrialRecord>& records, const std::string& heading,
                 const std::string& baseline) {
  struct Row {
    std::string label;
    std::vector<std::string> cells;
    std::vector<double> values;  // for the ratio column; NaN where none
  };
  std::vector<Row> rows;
  const auto nan = std::nan("");
  auto add = [&](const std::string& label, auto cell, auto value) {
    Row r{label, {}, {}};
    for (const auto& rec : records) {
      r.cells.push_back(cell(rec));
      r.values.push_back(value(rec));
    }
    rows.push_back(std::move(r));
  };
  auto seconds_row = [&](const std::string& label, auto get) {
    add(
        label, [&](const TrialRecord& r) { return human_seconds(get(r)); }, get);
  };
  auto us_row = [&](const std::string& label, auto get) {
    add(
        label, [&](const TrialRecord& r) { return human_seconds(get(r) / 1e6); }, get);
  };
  auto num_row = [&](const std::string& label, auto get) {
    add(
        label, [&](const TrialRecord& r) { return human_count(get(r)); }, get);
  };
  add(
      "status", [](const TrialRecord& r) { return r.status; }, [&](const TrialRecord&) { return nan; });
  seconds_row("wall time", [](const TrialRecord& r) { return r.metrics.wall_s; });
  num_row("operations", [](const TrialRecord& r) { return static_cast<double>(r.metrics.ops); });
  add(
      "throughput", [](const TrialRecord& r) { return format_number("%.1f /s", r.metrics.throughput_ops_s); },
      [](const TrialRecord& r) { return r.metrics.throughput_ops_s; });
  us_row("latency mean", [](const TrialRecord& r) { return r.metrics.latency.mean_us; });
  us_row("latency p50", [](const TrialRecord& r) { return r.metrics.latency.p50_us; });
  us_row("latency p90", [](const TrialRecord& r) { return r.metrics.latency.p90_us; });
  us_row("latency p99", [](const TrialRecord& r) { return r.metrics.latency.p99_us; });
  us_row("latency p99.9", [](const TrialRecord& r) { return r.metrics.latency.p999_us; });
  us_row("latency max", [](const TrialRecord& r) { return r.metrics.latency.max_us; });
  seconds_row("cpu user", [](const TrialRecord& r) { return r.metrics.resources.cpu_user_s; });
  seconds_row("cpu system", [](const TrialRecord& r) { return r.metrics.resources.cpu_sys_s; });
  num_row("ctx switches vol.",
          [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.ctx_voluntary); });
  num_row("ctx switches invol.",
          [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.ctx_involuntary); });
  add(
      "peak RSS", [](const TrialRecord& r) { return human_kib(static_cast<double>(r.metrics.resources.peak_rss_kib)); },
      [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.peak_rss_kib); });
  add(
      "RSS at start",
      [](const TrialRecord& r) { return human_kib(static_cast<double>(r.metrics.resources.start_rss_kib)); },
      [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.start_rss_kib); });
  num_row("peak threads", [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.peak_threads); });
  std::vector<std::string> counter_names;
  std::vector<std::string> info_names;
  for (const auto& rec : records) {
    for (const auto& [k, v] : rec.counters) {
      if (std::find(counter_names.begin(), counter_names.end(), k) == counter_names.end()) counter_names.push_back(k);
    }
    for (const auto& [k, v] : rec.info) {
      if (std::find(info_names.begin(), info_names.end(), k) == info_names.end()) info_names.push_back(k);
    }
  }
  for (const auto& name : counter_names) {
    auto get = [name, nan](const TrialRecord& r) {
      const auto it = r.counters.find(name);
      return it == r.counters.end() ? nan : it->second;
    };
    add(
        name, [get](const TrialRecord& r) { return std::isnan(get(r)) ? std::string("-") : human_count(get(r)); }, get);
  }
  for (const auto& name : info_names) {
    add(
        name,
        [name](const TrialRecord& r) {
          const auto it = r.info.find(name);
          return it == r.info.end() ? std::string("-") : it->second;
        },
        [&](const TrialRecord&) { return nan; });
  }
  add(
      "result digest",
      [](const TrialRecord& r) { return r.result_digest.empty() ? std::string("-") : r.result_digest; },
      [&](const TrialRecord&) { return nan; });

  // Ratio columns: every other record against the baseline's.
  std::size_t base = records.size();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].variant == (baseline.empty() ? records.front().variant : baseline)) base = i;
  }
  std::vector<std::size_t> ratios;
  for (std::size_t i = 0; base < records.size() && i < records.size(); ++i) {
    if (i != base) ratios.push_back(i);
  }
  std::size_t w0 = 5;
  for (const auto& r : rows) w0 = std::max(w0, r.label.size());
  std::vector<std::size_t> widths(records.size(), 8);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.cells.size(); ++i) widths[i] = std::max(widths[i], r.cells[i].size());
  }
  auto pad = [](const std::string& s, std::size_t w, bool right) {
    const std::string fill(w > s.size() ? w - s.size() : 0, ' ');
    return right ? fill + s : s + fill;
  };
  std::vector<std::string> ratio_heads;
  for (const auto i : ratios) ratio_heads.push_back(records[i].variant + "/" + records[base].variant);
  out << heading << '\n';
  out << pad("", w0, false);
  for (std::size_t i = 0; i < records.size(); ++i) out << "  " << pad(records[i].variant, widths[i], true);
  for (const auto& h : ratio_heads) out << "  " << pad(h, std::max<std::size_t>(11, h.size()), true);
  out << '\n';
  for (const auto& r : rows) {
    out << pad(r.label, w0, false);
    for (std::size_t i = 0; i < r.cells.size(); ++i) out << "  " << pad(r.cells[i], widths[i], true);
    for (std::size_t k = 0; k < ratios.size(); ++k) {
      const double a = r.values[base], b = r.values[ratios[k]];
      std::string cell;
      if (!std::isnan(a) && !std::isnan(b) && a != 0) cell = format_number("%.2fx", b / a);
      out << "  " << pad(cell, std::max<std::size_t>(11, ratio_heads[k].size()), true);
    }
    out << '\n';
  }
  for (const auto& rec : records) {
    if (!rec.reason.empty()) out << rec.variant << ": " << rec.reason << '\n';
  }
}

}  // namespace wb
