// Chapter: what a chapter declares (knobs, counters, invariants, claims), its command line and
// --describe, and running one variant in this process.  Several variants are run_each.cpp; the
// table is table.cpp; Run is run.cpp.
#include "common/chapter.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/backend.hpp"
#include "common/chapter_impl.hpp"
#include "common/table.hpp"

namespace wb {

using nlohmann::json;

std::vector<VariantInfo> default_variants() {
  return {{"sync", Model::threads, "blocking calls, a thread for each thing that waits"},
          {"async", Model::coroutines, "Asio C++20 coroutines on an io_context"}};
}

const char* to_string(Model m) { return m == Model::threads ? "threads" : "coroutines"; }

bool Variant::is(std::string_view name) const {
  if (std::find(declared_.begin(), declared_.end(), name) == declared_.end()) {
    throw std::logic_error("Variant::is(\"" + std::string(name) + "\"): the chapter declares no such variant");
  }
  return name_ == name;
}

namespace {

// A variant name is a word the command line, file names and "variant.metric" can all carry.
bool valid_variant_name(const std::string& n) {
  return !n.empty() && n != "all" && n != "both" && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

Chapter::Chapter(ChapterInfo info) : impl_(std::make_unique<Impl>()) {
  if (info.variants.empty()) info.variants = default_variants();
  for (std::size_t i = 0; i < info.variants.size(); ++i) {
    const auto& n = info.variants[i].name;
    if (!valid_variant_name(n)) {
      throw std::logic_error(info.name + ": variant name \"" + n + "\" (use lower case, digits and '-'; not all/both)");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (info.variants[j].name == n) throw std::logic_error(info.name + ": variant \"" + n + "\" declared twice");
    }
  }
  if (info.baseline.empty()) info.baseline = info.variants.front().name;
  impl_->info = std::move(info);
  if (impl_->variant(impl_->info.baseline).index() < 0) {
    throw std::logic_error(impl_->info.name + ": baseline \"" + impl_->info.baseline + "\" is not a declared variant");
  }
}

std::vector<std::string> Chapter::Impl::variant_names() const {
  std::vector<std::string> names;
  for (const auto& v : info.variants) names.push_back(v.name);
  return names;
}

Variant Chapter::Impl::variant(const std::string& name) const {
  const auto names = variant_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return Variant(name, -1, names);
  const auto index = static_cast<std::size_t>(it - names.begin());
  return Variant(name, static_cast<int>(index), names, info.variants[index].model);
}

std::vector<std::string> Chapter::Impl::selected() const {
  const auto names = variant_names();
  if (mode == "all" || mode == "both") return names;
  std::vector<std::string> wanted;
  for (std::size_t start = 0;;) {
    const auto comma = mode.find(',', start);
    const std::string n = mode.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (n.empty()) throw UsageError("--mode \"" + mode + "\": an empty variant name");
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      std::string list;
      for (const auto& k : names) list += (list.empty() ? "" : ", ") + k;
      throw UsageError("--mode: no variant \"" + n + "\" here (it has " + list + "; or all)");
    }
    if (std::find(wanted.begin(), wanted.end(), n) == wanted.end()) wanted.push_back(n);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<std::string> ordered;  // the chapter's order, whatever the command line's
  for (const auto& n : names) {
    if (std::find(wanted.begin(), wanted.end(), n) != wanted.end()) ordered.push_back(n);
  }
  return ordered;
}

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

void Chapter::backend_knob(std::string& spec) {
  text_knob("--backend", spec, "HOST:PORT of a running workbench-backend (default: start one on 127.0.0.1)",
            [](const std::string& s) { parse_endpoint(s); });
}

void Chapter::helper_process(const std::string& name, std::string& var, const std::string& help,
                             const std::vector<std::string>& choices, std::function<int(std::int64_t seed)> helper) {
  if (impl_->helper) throw std::logic_error(impl_->info.name + ": one helper process per chapter");
  if (choices.empty() || var != choices.front())
    throw std::logic_error(impl_->info.name + ": " + name + ": the first choice is the default, \"a trial as usual\"");
  knob(name, var, help, choices);
  impl_->helper_name = name;
  impl_->helper_var = &var;
  impl_->helper_off = choices.front();
  impl_->helper = std::move(helper);
}

void Chapter::counter_doc(const std::string& name, const std::string& unit, const std::string& meaning) {
  impl_->counter_docs.push_back({{"name", name}, {"unit", unit}, {"meaning", meaning}});
}

void Chapter::series_doc(const std::string& name, const std::string& unit, const std::string& meaning) {
  impl_->series_docs.push_back({{"name", name}, {"unit", unit}, {"meaning", meaning}});
}

void Chapter::quick_sweep(const std::string& param, std::vector<std::string> values) {
  impl_->quick[param] = std::move(values);
}

void Chapter::quick_point(std::vector<std::pair<std::string, std::string>> point) {
  nlohmann::json p = nlohmann::json::object();
  for (auto& [key, value] : point) p[key] = std::move(value);
  impl_->quick_points.push_back(std::move(p));
}

namespace {

// "async.peak_threads" names a variant; "4" or "2.5" does not.
void check_side(const std::string& chapter, const std::vector<std::string>& names, const Expectation& e,
                const std::string& side) {
  char* end = nullptr;
  std::strtod(side.c_str(), &end);
  if (!side.empty() && end && *end == '\0') return;
  const auto dot = side.find('.');
  if (dot == std::string::npos || std::find(names.begin(), names.end(), side.substr(0, dot)) == names.end()) {
    throw std::logic_error(chapter + ": " + e.id + ": \"" + side +
                           "\" is neither a number nor a declared variant's metric");
  }
}

}  // namespace

void Chapter::invariant(Expectation e) {
  check_side(impl_->info.name, impl_->variant_names(), e, e.lhs);
  check_side(impl_->info.name, impl_->variant_names(), e, e.rhs);
  if (e.op == "~" || !e.refused_holds.empty() || e.min_cpus > 0 || !e.context.empty())
    throw std::logic_error(impl_->info.name + ": " + e.id +
                           ": ties, refusals and CPU counts decide claims; an invariant holds everywhere");
  e.kind = "invariant";
  impl_->expectations.push_back(std::move(e));
}

void Chapter::claim(Expectation e) {
  check_side(impl_->info.name, impl_->variant_names(), e, e.lhs);
  check_side(impl_->info.name, impl_->variant_names(), e, e.rhs);
  const auto& names = impl_->variant_names();
  if (!e.by_construction.empty())
    throw std::logic_error(impl_->info.name + ": " + e.id +
                           ": a check true by construction is an invariant, not a claim");
  if (!e.refused_holds.empty() && std::find(names.begin(), names.end(), e.refused_holds) == names.end())
    throw std::logic_error(impl_->info.name + ": " + e.id + ": refused_holds names no declared variant");
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
  std::string variants;
  for (const auto& v : d.info.variants) variants += (variants.empty() ? "" : ", ") + v.name;
  app.add_option("--mode", d.mode,
                 "which implementation(s) to run: " + variants +
                     ", a comma-separated list of them, or all (both means all). Several run each in a child "
                     "process, side by side")
      ->type_name("VARIANT")
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
  try {
    d.selected();
  } catch (const UsageError& e) {
    std::cerr << d.info.name << ": " << e.what() << '\n';
    return 2;
  }
  if (d.describe) {
    std::cout << describe().dump(2) << '\n';
    return 0;
  }
  if (d.helper && *d.helper_var != d.helper_off) return d.helper(d.seed);
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
  json variant_info = json::array();
  for (const auto& v : d.info.variants)
    variant_info.push_back(
        {{"name", v.name}, {"model", to_string(v.model)}, {"summary", v.summary}, {"ends_early", v.ends_early}});
  json expectations = json::array();
  for (const auto& e : d.expectations) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%g", e.factor);
    auto side = [](const std::string& name, const json& at) {
      return at.empty() ? name : name + "[" + params_line(at) + "]";
    };
    const std::string scale = e.op == "==" || e.factor == 1.0 ? "" : std::string(factor) + " * ";
    const std::string text =
        e.op == "~"
            ? side(e.lhs, e.lhs_where) + " within " + factor + "x of " + side(e.rhs, e.rhs_where) + " either way"
            : side(e.lhs, e.lhs_where) + " " + e.op + " " + scale + side(e.rhs, e.rhs_where);
    json more = json::object();
    if (!e.by_construction.empty()) more["by_construction"] = e.by_construction;
    if (!e.refused_holds.empty()) more["refused_holds"] = e.refused_holds;
    if (e.min_cpus > 0) more["min_cpus"] = e.min_cpus;
    if (!e.context.empty()) more["context"] = e.context;
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
                            {"text", text},
                            {"why", e.why},
                            {"only_if", e.only_if}});
    expectations.back().update(more);
  }
  return json{
      {"name", d.info.name},
      {"title", d.info.title},
      {"sections", d.info.sections},
      {"claims", d.info.claims},
      {"ops_unit", d.info.ops_unit},
      {"variants", d.variant_names()},
      {"variant_info", variant_info},
      {"baseline", d.baseline()},
      {"headline", d.info.headline},
      {"options", options},
      {"metrics",
       {"wall_s", "ops", "throughput_ops_s", "latency_us", "cpu_user_s", "cpu_sys_s", "peak_rss_kib", "start_rss_kib",
        "peak_threads", "start_threads", "ctx_voluntary", "ctx_involuntary", "harness_cpu_s"}},
      {"counters", d.counter_docs},
      {"series", d.series_docs},
      {"quick", d.quick},
      {"quick_points", d.quick_points},
      {"expectations", expectations},
      {"predictions", d.predictions_json()},
  };
}

int Chapter::Impl::run_here(const Variant& v, const std::function<void(const Variant&, Run&)>& body,
                            TrialRecord* out) const {
  Run run(v, {narrate, trace_file, v.name(), v.index() + 1});
  run.seed_ = seed;
  run.args_ = knob_args();
  if (!helper_name.empty()) {  // a helper is started with its own value of that option
    const auto it = std::find(run.args_.begin(), run.args_.end(), helper_name);
    if (it != run.args_.end()) run.args_.erase(it, it + 2);
  }
  run.record_.chapter = info.name;
  run.record_.variant = v.name();
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
    std::cerr << info.name << " (" << v.name() << "): " << run.record_.reason << '\n';
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
    print_table(std::cout, records, info.name + "  " + params_line(params()), baseline());
  }
  return 0;
}

int Chapter::run(const std::function<void(const Variant&, Run&)>& body) {
  auto& d = *impl_;
  const auto names = d.selected();  // parse() checked it
  if (names.size() > 1) return d.run_each(names);
  TrialRecord rec;
  const int code = d.run_here(d.variant(names.front()), body, &rec);
  if (code == 2) return 2;
  const int e = d.emit({rec});
  return code != 0 ? code : e;
}

}  // namespace wb
