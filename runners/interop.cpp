#include "runners/interop.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "common/record.hpp"
#include "common/work.hpp"
#include "runners/metrics.hpp"
#include "runners/plan.hpp"
#include "runners/results_files.hpp"

namespace wb::runner {

using nlohmann::json;

json export_gbench(const json& results) {
  const json& ctx = results.value("context", json::object());
  json context{{"date", ctx.value("date", "")},
               {"host_name", ctx.value("host", "")},
               {"executable", "workbench"},
               {"num_cpus", ctx.value("cpus", 0)},
               {"mhz_per_cpu", 0},
               {"cpu_scaling_enabled", false},
               {"caches", json::array()},
               {"load_avg", json::array()},
               {"library_build_type", ctx.value("build_type", "") == "release" ? "release" : "debug"},
               {"workbench", ctx}};
  const json chapters = chapter_descriptions(results);
  json benchmarks = json::array();
  std::vector<std::string> names;
  std::map<std::string, std::vector<const json*>> by_name;
  for (const auto& t : results.at("trials")) {
    const std::string chapter = t.value("chapter", "");
    const auto p = point_name(t.value("params", json::object()), chapters.value(chapter, json()), "/", ":");
    const std::string name = chapter + "/" + t.value("variant", "") + (p.empty() ? "" : "/" + p);
    if (!by_name.count(name)) names.push_back(name);
    by_name[name].push_back(&t);
  }
  for (std::size_t family = 0; family < names.size(); ++family) {
    const auto& name = names[family];
    const auto& ts = by_name[name];
    std::vector<json> ok;
    for (std::size_t i = 0; i < ts.size(); ++i) {
      const json& t = *ts[i];
      json b{{"name", name},
             {"family_index", family},
             {"per_family_instance_index", 0},
             {"run_name", name},
             {"run_type", "iteration"},
             {"repetitions", ts.size()},
             {"repetition_index", i},
             {"threads", 1},
             {"iterations", 1},
             {"time_unit", "ms"}};
      if (t.value("status", "") != "ok") {
        b["error_occurred"] = true;
        b["error_message"] = t.value("status", "") + ": " + t.value("reason", "");
        b["real_time"] = 0;
        b["cpu_time"] = 0;
      } else {
        b["real_time"] = metric_number(t, "wall_s").value_or(0) * 1e3;
        b["cpu_time"] = metric_number(t, "cpu_s").value_or(0) * 1e3;
        b["items_per_second"] = metric_number(t, "throughput_ops_s").value_or(0);
        b["p50_us"] = metric_number(t, "latency_us.p50").value_or(0);
        b["p99_us"] = metric_number(t, "latency_us.p99").value_or(0);
        b["peak_rss_kib"] = metric_number(t, "peak_rss_kib").value_or(0);
        b["peak_threads"] = metric_number(t, "peak_threads").value_or(0);
        ok.push_back(b);
      }
      benchmarks.push_back(std::move(b));
    }
    if (ok.size() < 2) continue;
    for (const char* agg : {"mean", "median", "stddev"}) {
      json a = ok.front();
      a.erase("repetition_index");
      a["name"] = name + "_" + agg;
      a["run_type"] = "aggregate";
      a["aggregate_name"] = agg;
      a["aggregate_unit"] = "time";
      a["repetitions"] = ok.size();
      for (const char* field :
           {"real_time", "cpu_time", "items_per_second", "p50_us", "p99_us", "peak_rss_kib", "peak_threads"}) {
        std::vector<double> xs;
        for (const auto& b : ok) xs.push_back(b[field].get<double>());
        const double mean = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
        double var = 0;
        for (double x : xs) var += (x - mean) * (x - mean);
        const double stddev = std::sqrt(var / static_cast<double>(xs.size() - 1));
        a[field] = std::string(agg) == "mean" ? mean : std::string(agg) == "median" ? median(xs) : stddev;
      }
      benchmarks.push_back(std::move(a));
    }
  }
  return json{{"context", context}, {"benchmarks", benchmarks}};
}

json merge_results(const std::vector<json>& docs, const std::vector<std::string>& names) {
  if (docs.empty()) throw std::invalid_argument("nothing to merge");
  json sources = json::array();
  json trials = json::array();
  json chapters = json::object();
  std::vector<std::string> hosts;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const json& d = docs[i];
    const std::size_t offset = sources.size();
    if (d.contains("sources") && d["sources"].is_array() && !d["sources"].empty()) {
      for (const auto& s : d["sources"]) sources.push_back(s);  // a merged file merged again
    } else {
      json s = d.value("context", json::object());
      s["file"] = i < names.size() ? names[i] : "";
      sources.push_back(std::move(s));
    }
    const std::string host = d.value("context", json::object()).value("host", "unknown");
    for (auto t : d.at("trials")) {
      if (!t.contains("host")) t["host"] = host;
      t["source"] = offset + t.value("source", std::size_t{0});
      const auto h = t["host"].get<std::string>();
      if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
      trials.push_back(std::move(t));
    }
    const json described = d.value("chapters", json::object());
    for (const auto& [name, desc] : described.items()) {
      if (!chapters.contains(name)) chapters[name] = desc;
    }
  }
  json context = docs.front().value("context", json::object());
  std::string host_list;
  for (const auto& h : hosts) host_list += (host_list.empty() ? "" : ", ") + h;
  context["host"] = hosts.size() == 1 ? hosts.front() : "merged: " + host_list;
  context["merged_files"] = docs.size();
  json out = json{
      {"schema", docs.front().value("schema", "")}, {"context", context}, {"trials", trials}, {"sources", sources}};
  if (!chapters.empty()) out["chapters"] = chapters;
  return out;
}

int cmd_export(const std::string& path, const std::string& format, const std::string& out) {
  if (format != "gbench") throw UsageError("unknown export format \"" + format + "\" (known: gbench)");
  write_json_or_stdout(out, export_gbench(load_results(path)));
  return 0;
}

int cmd_merge(const std::vector<std::string>& paths, const std::string& out) {
  std::vector<json> docs;
  for (const auto& p : paths) docs.push_back(load_results(p));
  const json merged = merge_results(docs, paths);
  write_json_or_stdout(out, merged);
  std::fprintf(stderr, "workbench: merged %zu files, %zu trials -> %s\n", paths.size(), merged["trials"].size(),
               out.empty() ? "stdout" : out.c_str());
  return 0;
}

}  // namespace wb::runner
