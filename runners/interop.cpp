#include "runners/interop.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "common/record.hpp"
#include "common/work.hpp"
#include "runners/metrics.hpp"
#include "runners/plan.hpp"
#include "runners/results_files.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

// Trials grouped by benchmark name, "chapter/variant/key:value/..." (the parameters that differ
// from the chapter's defaults), in the order the names first appear.
struct Benchmarks {
  std::vector<std::string> names;
  std::map<std::string, std::vector<const json*>> trials;
};

Benchmarks benchmarks_of(const json& results) {
  const json chapters = chapter_descriptions(results);
  Benchmarks out;
  for (const auto& t : results.at("trials")) {
    const std::string chapter = t.value("chapter", "");
    const auto p = point_name(t.value("params", json::object()), chapters.value(chapter, json()), "/", ":");
    std::string name = chapter + "/" + t.value("variant", "") + (p.empty() ? "" : "/" + p);
    if (t.contains("host")) {  // a merged file: a name per machine
      name += '@';             // (appended apart: g++ 12 warns of a memcpy overlap in "@" + host)
      name += t["host"].get<std::string>();
    }
    if (!out.trials.count(name)) out.names.push_back(name);
    out.trials[name].push_back(&t);
  }
  return out;
}

}  // namespace

json export_bmf(const json& results) {
  // Bencher's measures: latency (ns) and throughput (ops/s) are built in; the others are
  // created by name on first upload.  value: the median over the repetitions that succeeded,
  // lower_value / upper_value: their minimum and maximum.
  struct Measure {
    const char* slug;
    const char* metric;
    double scale;
  };
  const Measure measures[] = {
      {"wall-time", "wall_s", 1e9},          {"latency", "latency_us.p50", 1e3}, {"latency-p99", "latency_us.p99", 1e3},
      {"throughput", "throughput_ops_s", 1}, {"cpu-time", "cpu_s", 1e9},         {"peak-rss-kib", "peak_rss_kib", 1},
      {"peak-threads", "peak_threads", 1}};
  const Benchmarks groups = benchmarks_of(results);
  json out = json::object();
  for (const auto& name : groups.names) {
    json b = json::object();
    for (const auto& m : measures) {
      std::vector<double> xs;
      for (const json* t : groups.trials.at(name)) {
        if (t->value("status", "") != "ok") continue;
        // A chapter that times units, not operations, records no latency: no latency measure.
        if (std::string(m.metric).rfind("latency_us", 0) == 0 && metric_number(*t, "latency_us.count").value_or(0) <= 0)
          continue;
        if (const auto v = metric_number(*t, m.metric)) xs.push_back(*v * m.scale);
      }
      if (xs.empty()) continue;
      b[m.slug] = {{"value", median(xs)},
                   {"lower_value", *std::min_element(xs.begin(), xs.end())},
                   {"upper_value", *std::max_element(xs.begin(), xs.end())}};
    }
    if (!b.empty()) out[name] = std::move(b);
  }
  return out;
}

std::string export_hgrm(const json& trial) {
  const json& latency = trial.value("metrics", json::object()).value("latency_us", json::object());
  const json& buckets = latency.value("histogram", json::array());
  std::uint64_t total = 0;
  for (const auto& b : buckets) total += b.at(2).get<std::uint64_t>();
  if (total == 0) throw std::invalid_argument("the trial has no latency histogram (its chapter times no operations)");
  const double min_ns = latency.value("min", 0.0) * 1e3, max_ns = latency.value("max", 0.0) * 1e3;
  // A bucket's value, as the workbench gives every percentile it prints: its midpoint, within
  // [min, max] of what was recorded.
  auto value_of = [&](const json& b) {
    return std::clamp((b.at(0).get<double>() + b.at(1).get<double>()) / 2.0, min_ns, max_ns);
  };
  // The value at quantile q: the bucket holding the nearest rank, ceil(q * n).
  auto value_at = [&](double q) {
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total))));
    std::uint64_t seen = 0;
    for (const auto& b : buckets) {
      seen += b.at(2).get<std::uint64_t>();
      if (seen >= rank) return value_of(b);
    }
    return max_ns;
  };
  auto count_at = [&](double value_ns) {
    std::uint64_t seen = 0;
    for (const auto& b : buckets)
      if (value_of(b) <= value_ns) seen += b.at(2).get<std::uint64_t>();
    return seen;
  };
  // HdrHistogram's percentile ticks (5 per half distance to 100 %), plus the percentiles the
  // records report (99, 99.9), so that those rows read back exactly.
  std::vector<double> percentiles;
  for (double level = 0; level < 100.0;) {
    percentiles.push_back(level);
    // As HdrHistogram does, stop at the tick that reaches the last recorded value.
    if (std::ceil(level / 100.0 * static_cast<double>(total)) >= static_cast<double>(total)) break;
    level += 100.0 / (5.0 * std::pow(2.0, std::floor(std::log2(100.0 / (100.0 - level))) + 1));
  }
  for (const double p : {99.0, 99.9})
    if (std::find(percentiles.begin(), percentiles.end(), p) == percentiles.end()) percentiles.push_back(p);
  std::sort(percentiles.begin(), percentiles.end());
  std::string out = "       Value     Percentile TotalCount 1/(1-Percentile)\n\n";
  char line[160];
  for (const double p : percentiles) {
    const double v = value_at(p / 100.0);
    std::snprintf(line, sizeof line, "%12.3f %2.12f %10llu %14.2f\n", v / 1e3, p / 100.0,
                  static_cast<unsigned long long>(count_at(v)), 1.0 / (1.0 - p / 100.0));
    out += line;
  }
  std::snprintf(line, sizeof line, "%12.3f %2.12f %10llu\n", max_ns / 1e3, 1.0, static_cast<unsigned long long>(total));
  out += line;
  double mean = latency.value("mean", 0.0), var = 0;
  for (const auto& b : buckets) var += b.at(2).get<double>() * std::pow(value_of(b) / 1e3 - mean, 2);
  std::snprintf(line, sizeof line, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean,
                std::sqrt(var / static_cast<double>(total)));
  out += line;
  std::snprintf(line, sizeof line, "#[Max     = %12.3f, Total count    = %12llu]\n", max_ns / 1e3,
                static_cast<unsigned long long>(total));
  out += line;
  std::snprintf(line, sizeof line, "#[Buckets = %12zu, SubBuckets     = %12d]\n", buckets.size(), 128);
  out += line;
  return out;
}

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
  json benchmarks = json::array();
  const Benchmarks groups = benchmarks_of(results);
  const auto& names = groups.names;
  for (std::size_t family = 0; family < names.size(); ++family) {
    const auto& name = names[family];
    const auto& ts = groups.trials.at(name);
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

Merged merge_results(const std::vector<json>& docs, const std::vector<std::string>& names, bool label_from_filename) {
  if (docs.empty()) throw std::invalid_argument("nothing to merge");
  Merged merged;
  auto warn = [&](const std::string& w) { merged.warnings.push_back(w); };
  auto name_of = [&](std::size_t i) { return i < names.size() ? names[i] : "file " + std::to_string(i + 1); };
  json sources = json::array();
  json trials = json::array();
  json chapters = json::object();
  json labs = json::array();                        // every file's `workbench lab` answers, each under its file's label
  std::map<std::string, std::string> chapter_from;  // chapter -> the file whose description is kept
  std::map<std::string, std::string> label_from;    // label -> the first file with it
  std::map<std::string, std::string> commit_from;   // commit -> the first file built from it
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const json& d = docs[i];
    const json ctx = d.value("context", json::object());
    const std::size_t offset = sources.size();
    std::vector<std::string> file_labels;  // this file's machines
    std::string label;
    if (d.contains("sources") && d["sources"].is_array() && !d["sources"].empty()) {
      for (const auto& s : d["sources"]) sources.push_back(s);  // a merged file merged again: its labels stay
      for (const auto& t : d.at("trials")) {
        const auto h = t.value("host", ctx.value("host", "unknown"));
        if (std::find(file_labels.begin(), file_labels.end(), h) == file_labels.end()) file_labels.push_back(h);
      }
    } else {
      label = label_from_filename ? std::filesystem::path(name_of(i)).stem().string()
                                  : ctx.value("label", ctx.value("host", "unknown"));
      json s = ctx;
      s["file"] = name_of(i);
      s["label"] = label;
      sources.push_back(std::move(s));
      file_labels.push_back(label);
    }
    for (const auto& l : file_labels) {
      if (const auto it = label_from.find(l); it != label_from.end()) {
        warn(it->second + " and " + name_of(i) + " share the label '" + l +
             "': their trials are pooled as one machine's (give each run --label NAME, or merge with "
             "--label-from-filename)");
      } else {
        label_from[l] = name_of(i);
        labels.push_back(l);
      }
    }
    const std::string commit = ctx.value("git", "unknown");
    if (commit_from.emplace(commit, name_of(i)).second && commit_from.size() == 2) {
      warn("the files come from different commits (" + commit_from.begin()->second + ": " + commit_from.begin()->first +
           ", " + name_of(i) + ": " + commit + "): a difference between machines may be a difference between versions");
    }
    for (auto t : d.at("trials")) {
      if (!t.contains("host")) t["host"] = label;
      t["source"] = offset + t.value("source", std::size_t{0});
      trials.push_back(std::move(t));
    }
    for (auto entry : d.value("lab", json::array())) {
      if (!label.empty()) entry["label"] = label;  // a merged file merged again: its labels stay
      labs.push_back(std::move(entry));
    }
    const json described = d.value("chapters", json::object());  // a named copy: items() refers to it
    for (const auto& [chapter, description] : described.items()) {
      if (!chapters.contains(chapter)) {
        chapters[chapter] = description;
        chapter_from[chapter] = name_of(i);
      } else if (chapters[chapter] != description) {
        warn("chapter " + chapter + " is described differently in " + chapter_from[chapter] + " and " + name_of(i) +
             " (another version of it): " + chapter_from[chapter] + "'s description is kept");
      }
    }
  }
  json context = docs.front().value("context", json::object());
  std::string label_list;
  for (const auto& l : labels) label_list += (label_list.empty() ? "" : ", ") + l;
  context["host"] = labels.size() == 1 ? labels.front() : "merged: " + label_list;
  context["label"] = context["host"];
  context["merged_files"] = docs.size();
  merged.doc = json{
      {"schema", docs.front().value("schema", "")}, {"context", context}, {"trials", trials}, {"sources", sources}};
  if (!chapters.empty()) merged.doc["chapters"] = chapters;
  if (!labs.empty()) merged.doc["lab"] = labs;
  return merged;
}

int cmd_export(const std::string& path, const std::string& format, const std::string& out, long trial) {
  const json results = load_results(path);
  if (format == "gbench") {
    write_json_or_stdout(out, export_gbench(results));
  } else if (format == "bmf") {
    write_json_or_stdout(out, export_bmf(results));
  } else if (format == "hgrm") {
    const auto& trials = results.at("trials");
    if (trial < 0 || static_cast<std::size_t>(trial) >= trials.size())
      throw UsageError("--format hgrm needs --trial N, a trial of " + path + " (0 to " +
                       std::to_string(static_cast<long>(trials.size()) - 1) + ")");
    std::string text;
    try {
      text = export_hgrm(trials[static_cast<std::size_t>(trial)]);
    } catch (const std::invalid_argument& e) {
      throw UsageError("trial " + std::to_string(trial) + " of " + path + ": " + e.what());
    }
    if (out.empty() || out == "-") {
      std::fputs(text.c_str(), stdout);
    } else {
      wb::write_file_atomically(out, text);
    }
  } else {
    throw UsageError("unknown export format \"" + format + "\" (known: gbench, bmf, hgrm)");
  }
  return 0;
}

int cmd_merge(const std::vector<std::string>& paths, const std::string& out, bool label_from_filename) {
  std::vector<json> docs;
  for (const auto& p : paths) docs.push_back(load_results(p));
  const Merged merged = merge_results(docs, paths, label_from_filename);
  write_json_or_stdout(out, merged.doc);
  for (const auto& w : merged.warnings) std::fprintf(stderr, "workbench: merge: warning: %s\n", w.c_str());
  std::fprintf(stderr, "workbench: merged %zu files, %zu trials (%s) -> %s\n", paths.size(),
               merged.doc["trials"].size(), merged.doc["context"].value("host", "").c_str(),
               out.empty() ? "stdout" : out.c_str());
  return 0;
}

}  // namespace wb::runner
