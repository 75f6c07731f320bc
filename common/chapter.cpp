// Chapter: what a chapter declares (knobs, counters, invariants, claims), its command line and
// --describe, and running one variant in this process.  `--mode both` is run_both.cpp; the
// table is table.cpp; Run is run.cpp.
#include "common/chapter.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/chapter_impl.hpp"
#include "common/table.hpp"

namespace wb {

using nlohmann::json;

const char* to_string(Variant v) { return v == Variant::sync ? "sync" : "async"; }

Chapter::Chapter(ChapterInfo info) : impl_(std::make_unique<Impl>()) { impl_->info = std::move(info); }
Chapter::Chapter(Chapter&&) noexcept = default;
Chapter& Chapter::operator=(Chapter&&) noexcept = default;
Chapter::~Chapter() = default;

std::int64_t Chapter::seed() const { return impl_->seed; }

void Chapter::knob(const std::string& name, std::int64_t& var, const std::string& help, std::int64_t min,
                   std::int64_t max, const std::string& unit) {
  impl_->knobs.add(name, var, help, min, max, unit);
}

void Chapter::knob(const std::string& name, double& var, const std::string& help, double min, double max,
                   const std::string& unit) {
  impl_->knobs.add(name, var, help, min, max, unit);
}

void Chapter::knob(const std::string& name, std::string& var, const std::string& help,
                   const std::vector<std::string>& choices) {
  impl_->knobs.add(name, var, help, choices);
}

void Chapter::text_knob(const std::string& name, std::string& var, const std::string& help,
                        std::function<void(const std::string&)> check) {
  impl_->knobs.add_text(name, var, help, std::move(check));
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
  app.add_option("--json", d.json_out, "write one JSON record per variant run to FILE (- = stdout)")->type_name("FILE");
  app.add_flag("--narrate", d.narrate, "print each event (ms, thread id, task id, what) to stderr");
  app.add_option("--trace", d.trace_file, "write the events as Chrome trace-event JSON (Perfetto)")->type_name("FILE");
  app.add_flag("--describe", d.describe, "print the chapter's description (options, metrics, expectations) as JSON");
  app.add_option("--seed", d.seed, "seed for every random choice in the workload")
      ->check(CLI::Range(std::int64_t{0}, INT64_MAX))
      ->capture_default_str();
  d.knobs.add_to(*app.add_option_group("Scenario"));
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
  json options = d.knobs.describe();
  options.push_back({{"name", "--seed"},
                     {"param", "seed"},
                     {"type", "int"},
                     {"default", 1},
                     {"min", 0},
                     {"max", INT64_MAX},
                     {"help", "seed for every random choice in the workload"}});
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
       {"wall_s", "ops", "throughput_ops_s", "latency_us", "cpu_user_s", "cpu_sys_s", "peak_rss_kib", "start_rss_kib",
        "peak_threads", "start_threads", "ctx_voluntary", "ctx_involuntary"}},
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

int Chapter::run(const std::function<void(Variant, Run&)>& body) {
  auto& d = *impl_;
  if (d.mode == "both") return d.run_both();
  TrialRecord rec;
  const int code = d.run_here(d.mode == "sync" ? Variant::sync : Variant::async, body, &rec);
  if (code == 2) return 2;
  const int e = d.emit({rec});
  return code != 0 ? code : e;
}

}  // namespace wb
