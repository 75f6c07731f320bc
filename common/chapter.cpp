#include "common/chapter.hpp"

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <signal.h>

#include "common/process.hpp"

namespace wb {

using nlohmann::json;

const char* to_string(Variant v) { return v == Variant::sync ? "sync" : "async"; }

// ---------------------------------------------------------------------------------------------
// Run

void Run::begin() {
  measuring_ = true;
  latency_.reset();
  start_tracing(trace_);  // narration's clock starts with the measured region
  meter_.start();
}

void Run::end(const Outcome& outcome) {
  const auto usage = meter_.stop();
  measuring_ = false;
  measured_ = true;
  auto& m = record_.metrics;
  m.resources = usage;
  m.wall_s = usage.wall_s;
  m.ops = outcome.ops;
  m.throughput_ops_s = usage.wall_s > 0 ? static_cast<double>(outcome.ops) / usage.wall_s : 0.0;
  m.latency = latency_.summary();
  record_.result_digest = outcome.digest;
}

void Run::fail(const std::string& reason) {
  if (measuring_) end(Outcome{latency_.count(), ""});
  record_.status = "failed";
  record_.reason = reason;
}

// ---------------------------------------------------------------------------------------------
// Chapter

namespace {

struct Knob {
  std::string name;   // "--size-kib"
  std::string param;  // "size_kib"
  std::string help, unit, type;
  json def, min, max;
  std::vector<std::string> choices;
  std::function<json()> value;          // current value, for records
  std::function<std::string()> as_arg;  // current value as a command-line word
  std::function<CLI::Option*(CLI::App&)> add;
};

std::string snake(const std::string& option) {
  std::string s = option.substr(option.find_first_not_of('-'));
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}


}  // namespace

struct Chapter::Impl {
  ChapterInfo info;
  std::vector<Knob> knobs;
  json counter_docs = json::array();
  json quick = json::object();
  std::vector<Expectation> expectations;

  std::string mode = "both";
  std::string json_out;
  std::string trace_file;
  bool narrate = false;
  bool describe = false;
  std::int64_t seed = 1;

  json params() const {
    json p = json::object();
    for (const auto& k : knobs) p[k.param] = k.value();
    p["seed"] = seed;
    return p;
  }

  std::vector<std::string> knob_args() const {
    std::vector<std::string> a;
    for (const auto& k : knobs) {
      const auto v = k.as_arg();
      if (k.type == "text" && v.empty()) continue;
      a.push_back(k.name);
      a.push_back(v);
    }
    a.push_back("--seed");
    a.push_back(std::to_string(seed));
    return a;
  }

  int emit(const std::vector<TrialRecord>& records) const;
  int run_here(Variant v, const std::function<void(Variant, Run&)>& body, TrialRecord* out) const;
  int run_both() const;
};

Chapter::Chapter(ChapterInfo info) : impl_(std::make_unique<Impl>()) { impl_->info = std::move(info); }
Chapter::Chapter(Chapter&&) noexcept = default;
Chapter& Chapter::operator=(Chapter&&) noexcept = default;
Chapter::~Chapter() = default;

std::int64_t Chapter::seed() const { return impl_->seed; }

void Chapter::knob(const std::string& name, std::int64_t& var, const std::string& help, std::int64_t min,
                   std::int64_t max, const std::string& unit) {
  Knob k{name, snake(name), help, unit, "int", var, min, max, {}, {}, {}, {}};
  k.value = [&var] { return json(var); };
  k.as_arg = [&var] { return std::to_string(var); };
  k.add = [&var, name, help, min, max](CLI::App& app) {
    return app.add_option(name, var, help)->check(CLI::Range(min, max))->capture_default_str();
  };
  impl_->knobs.push_back(std::move(k));
}

void Chapter::knob(const std::string& name, double& var, const std::string& help, double min, double max,
                   const std::string& unit) {
  Knob k{name, snake(name), help, unit, "float", var, min, max, {}, {}, {}, {}};
  k.value = [&var] { return json(var); };
  k.as_arg = [&var] { return exact_number(var); };
  k.add = [&var, name, help, min, max](CLI::App& app) {
    return app.add_option(name, var, help)->check(CLI::Range(min, max))->capture_default_str();
  };
  impl_->knobs.push_back(std::move(k));
}

void Chapter::knob(const std::string& name, std::string& var, const std::string& help,
                   const std::vector<std::string>& choices) {
  Knob k{name, snake(name), help, "", "choice", var, nullptr, nullptr, choices, {}, {}, {}};
  k.value = [&var] { return json(var); };
  k.as_arg = [&var] { return var; };
  k.add = [&var, name, help, choices](CLI::App& app) {
    return app.add_option(name, var, help)->check(CLI::IsMember(choices))->capture_default_str();
  };
  impl_->knobs.push_back(std::move(k));
}

void Chapter::text_knob(const std::string& name, std::string& var, const std::string& help,
                        std::function<void(const std::string&)> check) {
  Knob k{name, snake(name), help, "", "text", var, nullptr, nullptr, {}, {}, {}, {}};
  k.value = [&var] { return json(var); };
  k.as_arg = [&var] { return var; };
  k.add = [&var, name, help, check](CLI::App& app) {
    auto* opt = app.add_option(name, var, help);
    if (check) {
      opt->check(CLI::Validator(
          [check](std::string& s) -> std::string {
            try {
              check(s);
              return {};
            } catch (const std::exception& e) {
              return e.what();
            }
          },
          "PATH"));
    }
    return opt;
  };
  impl_->knobs.push_back(std::move(k));
}

void Chapter::counter_doc(const std::string& name, const std::string& unit, const std::string& meaning) {
  impl_->counter_docs.push_back({{"name", name}, {"unit", unit}, {"meaning", meaning}});
}

void Chapter::quick_sweep(const std::string& param, std::vector<std::string> values) {
  impl_->quick[param] = std::move(values);
}

void Chapter::invariant(Expectation e) {
  e.kind = "invariant";
  impl_->expectations.push_back(std::move(e));
}

void Chapter::claim(Expectation e) {
  e.kind = "claim";
  impl_->expectations.push_back(std::move(e));
}

std::optional<int> Chapter::parse(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return parse(args);
}

std::optional<int> Chapter::parse(const std::vector<std::string>& args_in) {
  auto& d = *impl_;
  CLI::App app{d.info.title, d.info.name};
  app.add_option("--mode", d.mode, "which implementation to run; both = each in a child process, side by side")
      ->check(CLI::IsMember({"sync", "async", "both"}))
      ->capture_default_str();
  app.add_option("--json", d.json_out, "write one JSON record per variant run to FILE (- = stdout)")
      ->type_name("FILE");
  app.add_flag("--narrate", d.narrate, "print each event (ms, thread id, task id, what) to stderr");
  app.add_option("--trace", d.trace_file, "write the events as Chrome trace-event JSON (Perfetto)")
      ->type_name("FILE");
  app.add_flag("--describe", d.describe, "print the chapter's description (options, metrics, expectations) as JSON");
  app.add_option("--seed", d.seed, "seed for every random choice in the workload")
      ->check(CLI::Range(std::int64_t{0}, INT64_MAX))
      ->capture_default_str();
  auto* knobs = app.add_option_group("Scenario");
  for (auto& k : d.knobs) k.add(*knobs);
  std::vector<std::string> args(args_in.rbegin(), args_in.rend());  // CLI11 takes them reversed
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << d.info.name << ": " << e.what() << "\n"
              << "Run '" << d.info.name << " --help' for the options and their ranges.\n";
    return 2;
  }
  if (d.describe) {
    std::cout << describe().dump(2) << '\n';
    return 0;
  }
  return std::nullopt;
}

json Chapter::describe() const {
  const auto& d = *impl_;
  json options = json::array();
  for (const auto& k : d.knobs) {
    json o = {{"name", k.name}, {"param", k.param}, {"type", k.type}, {"default", k.def}, {"help", k.help}};
    if (!k.unit.empty()) o["unit"] = k.unit;
    if (!k.min.is_null()) o["min"] = k.min;
    if (!k.max.is_null()) o["max"] = k.max;
    if (!k.choices.empty()) o["choices"] = k.choices;
    options.push_back(std::move(o));
  }
  options.push_back({{"name", "--seed"}, {"param", "seed"}, {"type", "int"}, {"default", 1}, {"min", 0},
                     {"max", INT64_MAX}, {"help", "seed for every random choice in the workload"}});
  json expectations = json::array();
  for (const auto& e : d.expectations) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%g", e.factor);
    auto side = [](const std::string& name, const json& at) {
      return at.empty() ? name : name + "[" + params_line(at) + "]";
    };
    const std::string scale = e.op == "==" || e.factor == 1.0 ? "" : std::string(factor) + " * ";
    expectations.push_back({{"id", e.id},
                            {"kind", e.kind},
                            {"claim", e.claim},
                            {"where", e.where},
                            {"lhs", e.lhs},
                            {"lhs_where", e.lhs_where},
                            {"op", e.op},
                            {"factor", e.factor},
                            {"rhs", e.rhs},
                            {"rhs_where", e.rhs_where},
                            {"text", side(e.lhs, e.lhs_where) + " " + e.op + " " + scale + side(e.rhs, e.rhs_where)},
                            {"why", e.why},
                            {"only_if", e.only_if}});
  }
  return json{
      {"name", d.info.name},
      {"title", d.info.title},
      {"sections", d.info.sections},
      {"claims", d.info.claims},
      {"ops_unit", d.info.ops_unit},
      {"variants", {"sync", "async"}},
      {"options", options},
      {"metrics",
       {"wall_s", "ops", "throughput_ops_s", "latency_us", "cpu_user_s", "cpu_sys_s", "peak_rss_kib",
        "start_rss_kib", "peak_threads", "start_threads", "ctx_voluntary", "ctx_involuntary"}},
      {"counters", d.counter_docs},
      {"quick", d.quick},
      {"expectations", expectations},
  };
}

int Chapter::Impl::run_here(Variant v, const std::function<void(Variant, Run&)>& body, TrialRecord* out) const {
  Run run(v, {narrate, trace_file, to_string(v), v == Variant::sync ? 1 : 2});
  run.record_.chapter = info.name;
  run.record_.variant = to_string(v);
  run.record_.params = params();
  int code = 0;
  try {
    body(v, run);
    if (!run.measured_ && run.record_.status == "ok") {
      run.fail("the chapter never called Run::measure");
    }
  } catch (const UsageError& e) {
    finish_tracing(nullptr);
    std::cerr << info.name << ": " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    run.record_.status = "failed";
    run.record_.reason = std::string("set-up failed: ") + e.what();
  }
  std::string trace_error;
  if (!finish_tracing(&trace_error) && run.record_.status == "ok") {
    run.record_.status = "failed";
    run.record_.reason = trace_error;
  }
  if (run.record_.status != "ok") {
    std::cerr << info.name << " (" << to_string(v) << "): " << run.record_.reason << '\n';
    code = 1;
  }
  *out = run.record_;
  return code;
}

int Chapter::Impl::emit(const std::vector<TrialRecord>& records) const {
  if (!json_out.empty()) {
    std::string lines;
    for (const auto& r : records) lines += json(r).dump() + '\n';
    if (json_out == "-") {
      std::cout << lines << std::flush;
    } else {
      std::ofstream f(json_out, std::ios::trunc);
      f << lines;
      f.flush();
      if (!f) {
        std::cerr << info.name << ": cannot write --json file " << json_out << '\n';
        return 1;
      }
    }
  }
  if (json_out != "-") {
    print_table(std::cout, records, info.name + "  " + params_line(params()));
  }
  return 0;
}

namespace {

std::atomic<int> g_child_pid{0};
extern "C" void forward_to_child(int sig) {
  if (const int pid = g_child_pid.load()) ::kill(pid, sig);
}

// While a variant runs in a child, this process must not die of the signals meant for it: a
// Ctrl-C reaches the child from the terminal anyway (same process group), so SIGINT is ignored
// here, and a SIGTERM sent to this process alone is passed on — as system(3) and shells do.
class ForwardSignals {
 public:
  ForwardSignals() {
    struct sigaction ignore{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &old_int_);
    struct sigaction forward{};
    forward.sa_handler = forward_to_child;
    ::sigaction(SIGTERM, &forward, &old_term_);
  }
  ForwardSignals(const ForwardSignals&) = delete;
  ForwardSignals& operator=(const ForwardSignals&) = delete;
  ~ForwardSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    g_child_pid = 0;
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

int Chapter::Impl::run_both() const {
  TempDir tmp("wb-both");
  const ForwardSignals forward;
  std::vector<TrialRecord> records;
  int code = 0;
  json merged_trace = json::array();
  for (const Variant v : {Variant::sync, Variant::async}) {
    const std::string name = to_string(v);
    std::vector<std::string> args = {self_executable(), "--mode", name, "--json", tmp.file(name + ".json")};
    for (auto& a : knob_args()) args.push_back(a);
    if (narrate) {
      args.push_back("--narrate");
      std::cerr << "---- " << info.name << " " << name << " ----\n";
    }
    if (!trace_file.empty()) {
      args.push_back("--trace");
      args.push_back(tmp.file(name + ".trace.json"));
    }
    // Each variant runs in a process of its own, so peak RSS and thread counts are its own.
    ProcessSpec spec;
    spec.argv = args;
    spec.stdout_path = "/dev/null";  // we print the combined table; the child's stderr stays visible
    spec.own_process_group = false;  // Ctrl-C reaches the child too
    spec.on_start = [](int pid) { g_child_pid = pid; };
    const auto result = run_process(spec);
    if (result.started && result.exit_code == 2) return 2;  // the child said what was wrong
    TrialRecord rec;
    const auto text = read_text_file(tmp.file(name + ".json"));
    if (!text.empty()) {
      from_json(json::parse(text.substr(0, text.find('\n'))), rec);
    } else {
      rec.chapter = info.name;
      rec.variant = name;
      rec.params = params();
      rec.status = "failed";
      rec.reason = "the " + name + " process ended without a record: " + result.describe();
      std::cerr << info.name << ": " << rec.reason << '\n';
    }
    if (!result.ok()) code = 1;
    records.push_back(std::move(rec));
    if (!trace_file.empty()) {
      const auto t = read_text_file(tmp.file(name + ".trace.json"));
      if (!t.empty()) {
        auto doc = json::parse(t);
        for (auto& e : doc["traceEvents"]) merged_trace.push_back(std::move(e));
      }
    }
  }
  if (!trace_file.empty()) {
    std::ofstream f(trace_file, std::ios::trunc);
    f << json{{"traceEvents", merged_trace}, {"displayTimeUnit", "ms"}}.dump() << '\n';
    if (!f) {
      std::cerr << info.name << ": cannot write --trace file " << trace_file << '\n';
      code = 1;
    }
  }
  if (const int e = emit(records); e != 0) code = e;
  if (records.size() == 2 && records[0].status == "ok" && records[1].status == "ok" &&
      records[0].result_digest != records[1].result_digest) {
    std::cerr << info.name << ": the two variants computed different results (digest " << records[0].result_digest
              << " vs " << records[1].result_digest << ") — a bug in one of them\n";
    code = 1;
  }
  return code;
}

int Chapter::run(const std::function<void(Variant, Run&)>& body) {
  auto& d = *impl_;
  if (d.mode == "both") return d.run_both();
  TrialRecord rec;
  const int code = d.run_here(d.mode == "sync" ? Variant::sync : Variant::async, body, &rec);
  if (code == 2) return 2;
  const int e = d.emit({rec});
  return code != 0 ? code : e;
}

// ---------------------------------------------------------------------------------------------
// Tables

std::string params_line(const json& params) {
  std::string s;
  for (const auto& [k, v] : params.items()) {
    if (v.is_string() && v.get<std::string>().empty()) continue;
    if (!s.empty()) s += ' ';
    s += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return s;
}

namespace {


}  // namespace

void print_table(std::ostream& out, const std::vector<TrialRecord>& records, const std::string& heading) {
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
    add(label, [&](const TrialRecord& r) { return human_seconds(get(r)); }, get);
  };
  auto us_row = [&](const std::string& label, auto get) {
    add(label, [&](const TrialRecord& r) { return human_seconds(get(r) / 1e6); }, get);
  };
  auto num_row = [&](const std::string& label, auto get) {
    add(label, [&](const TrialRecord& r) { return human_count(get(r)); }, get);
  };
  add("status", [](const TrialRecord& r) { return r.status; }, [&](const TrialRecord&) { return nan; });
  seconds_row("wall time", [](const TrialRecord& r) { return r.metrics.wall_s; });
  num_row("operations", [](const TrialRecord& r) { return static_cast<double>(r.metrics.ops); });
  add("throughput", [](const TrialRecord& r) { return format_number("%.1f /s", r.metrics.throughput_ops_s); },
      [](const TrialRecord& r) { return r.metrics.throughput_ops_s; });
  us_row("latency mean", [](const TrialRecord& r) { return r.metrics.latency.mean_us; });
  us_row("latency p50", [](const TrialRecord& r) { return r.metrics.latency.p50_us; });
  us_row("latency p90", [](const TrialRecord& r) { return r.metrics.latency.p90_us; });
  us_row("latency p99", [](const TrialRecord& r) { return r.metrics.latency.p99_us; });
  us_row("latency p99.9", [](const TrialRecord& r) { return r.metrics.latency.p999_us; });
  us_row("latency max", [](const TrialRecord& r) { return r.metrics.latency.max_us; });
  seconds_row("cpu user", [](const TrialRecord& r) { return r.metrics.resources.cpu_user_s; });
  seconds_row("cpu system", [](const TrialRecord& r) { return r.metrics.resources.cpu_sys_s; });
  num_row("ctx switches vol.", [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.ctx_voluntary); });
  num_row("ctx switches invol.",
          [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.ctx_involuntary); });
  add("peak RSS", [](const TrialRecord& r) { return human_kib(static_cast<double>(r.metrics.resources.peak_rss_kib)); },
      [](const TrialRecord& r) { return static_cast<double>(r.metrics.resources.peak_rss_kib); });
  add("RSS at start",
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
    add(name, [get](const TrialRecord& r) { return std::isnan(get(r)) ? std::string("-") : human_count(get(r)); }, get);
  }
  for (const auto& name : info_names) {
    add(name,
        [name](const TrialRecord& r) {
          const auto it = r.info.find(name);
          return it == r.info.end() ? std::string("-") : it->second;
        },
        [&](const TrialRecord&) { return nan; });
  }
  add("result digest", [](const TrialRecord& r) { return r.result_digest.empty() ? std::string("-") : r.result_digest; },
      [&](const TrialRecord&) { return nan; });

  const bool ratio = records.size() == 2;
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
  out << heading << '\n';
  out << pad("", w0, false);
  for (std::size_t i = 0; i < records.size(); ++i) out << "  " << pad(records[i].variant, widths[i], true);
  if (ratio) out << "  " << pad(records[1].variant + "/" + records[0].variant, 11, true);
  out << '\n';
  for (const auto& r : rows) {
    out << pad(r.label, w0, false);
    for (std::size_t i = 0; i < r.cells.size(); ++i) out << "  " << pad(r.cells[i], widths[i], true);
    if (ratio) {
      const double a = r.values[0], b = r.values[1];
      std::string cell;
      if (!std::isnan(a) && !std::isnan(b) && a != 0) cell = format_number("%.2fx", b / a);
      out << "  " << pad(cell, 11, true);
    }
    out << '\n';
  }
  for (const auto& rec : records) {
    if (!rec.reason.empty()) out << rec.variant << ": " << rec.reason << '\n';
  }
}

}  // namespace wb
