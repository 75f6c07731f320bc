#include "runners/metrics.hpp"

#include <map>
#include <set>

#include "common/format.hpp"
#include "runners/plan.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

const json* find_path(const json& j, const std::string& a, const std::string& b = "") {
  if (!j.is_object() || !j.contains(a)) return nullptr;
  const json* v = &j[a];
  if (b.empty()) return v;
  if (!v->is_object() || !v->contains(b)) return nullptr;
  return &(*v)[b];
}

std::optional<double> as_number(const json* v) {
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

}  // namespace

std::optional<double> metric_number(const json& trial, const std::string& name) {
  const json* m = find_path(trial, "metrics");
  if (name == "latency_sum_s") {  // the operations' latencies added up: what one after another would take
    const auto mean = as_number(m ? find_path(*m, "latency_us", "mean") : nullptr);
    const auto count = as_number(m ? find_path(*m, "latency_us", "count") : nullptr);
    if (!mean || !count) return std::nullopt;
    return *mean * *count / 1e6;
  }
  if (name == "cpu_s") {
    const auto u = as_number(m ? find_path(*m, "cpu_user_s") : nullptr);
    const auto s = as_number(m ? find_path(*m, "cpu_sys_s") : nullptr);
    if (!u || !s) return std::nullopt;
    return *u + *s;
  }
  std::string latency_key;
  if (name.rfind("latency_us.", 0) == 0)
    latency_key = name.substr(11);
  else if (name.size() > 3 && name.compare(name.size() - 3, 3, "_us") == 0 && name.rfind("latency", 0) != 0) {
    latency_key = name.substr(0, name.size() - 3);  // "p99_us" -> "p99"
  }
  if (!latency_key.empty() && m) {
    if (const auto v = as_number(find_path(*m, "latency_us", latency_key))) return v;
  }
  if (m) {
    if (const auto v = as_number(find_path(*m, name))) return v;
  }
  const std::string counter = name.rfind("counters.", 0) == 0 ? name.substr(9) : name;
  return as_number(find_path(trial, "counters", counter));
}

std::optional<std::string> metric_text(const json& trial, const std::string& name) {
  const json* v = nullptr;
  if (name.rfind("info.", 0) == 0)
    v = find_path(trial, "info", name.substr(5));
  else
    v = find_path(trial, name);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::string format_metric(const std::string& metric, double v) {
  if (metric == "wall_s" || metric == "cpu_s" || metric == "cpu_user_s" || metric == "cpu_sys_s" ||
      metric == "latency_sum_s")
    return human_seconds(v);
  if (metric.rfind("latency_us.", 0) == 0) return human_seconds(v / 1e6);
  if (metric.size() > 3 && metric.compare(metric.size() - 3, 3, "_ms") == 0) return human_seconds(v / 1e3);
  if (metric.find("kib") != std::string::npos) return human_kib(v);
  return human_number(v);
}

int better_direction(const std::string& metric) {
  if (metric == "throughput_ops_s") return +1;
  static const std::set<std::string> lower = {"wall_s",       "cpu_s",        "cpu_user_s",    "cpu_sys_s",
                                              "peak_rss_kib", "peak_threads", "ctx_voluntary", "ctx_involuntary"};
  if (lower.count(metric) || metric.rfind("latency_us.", 0) == 0) return -1;
  return 0;
}

std::string point_name(const json& params, const json& description, const char* sep, const char* eq) {
  std::map<std::string, json> defaults;
  if (description.is_object() && description.contains("options")) {
    for (const auto& o : description["options"]) {
      if (o.contains("param") && o.contains("default")) defaults[o["param"].get<std::string>()] = o["default"];
    }
  }
  std::string out;
  for (const auto& [k, v] : params.items()) {
    const auto d = defaults.find(k);
    if (d != defaults.end() && d->second == v) continue;
    out += (out.empty() ? "" : sep) + k + eq + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

json chapter_descriptions(const json& results) {
  json out = results.value("chapters", json::object());
  std::map<std::string, json> shared;  // chapter -> the params every trial of it has alike
  for (const auto& t : results.value("trials", json::array())) {
    const std::string c = t.value("chapter", "");
    if (out.contains(c)) continue;
    const json p = t.value("params", json::object());
    auto it = shared.find(c);
    if (it == shared.end()) {
      shared[c] = p;
      continue;
    }
    json kept = json::object();
    for (const auto& [k, v] : it->second.items()) {
      if (p.contains(k) && p[k] == v) kept[k] = v;
    }
    it->second = kept;
  }
  for (const auto& [c, params] : shared) {
    json options = json::array();
    for (const auto& [k, v] : params.items()) options.push_back({{"param", k}, {"default", v}});
    out[c] = {{"name", c}, {"options", options}};
  }
  return out;
}

std::vector<const json*> ok_only(const std::vector<const json*>& trials) {
  std::vector<const json*> out;
  for (const auto* t : trials) {
    if (t->value("status", "") == "ok") out.push_back(t);
  }
  return out;
}

}  // namespace wb::runner
