// workbench — runs the chapters as child processes, one per trial, and writes the results.
//
//   workbench list
//   workbench describe CHAPTER
//   workbench run [CHAPTER...] [--set k=v]... [--sweep k=v1,v2,...] [--repeat N]
//                 [--quick] [--mode sync|async|both] [--out FILE] [--trial-timeout S]
//   workbench check RESULTS                 the chapters' invariants: exit 1 / 3 when one fails / lacks trials
//   workbench claims RESULTS [--baseline OLD] the claims ledger: a verdict per claim, never a failure
//   workbench claims --catalog              CLAIMS.md: the claims and the chapters that test them
//   workbench compare OLD NEW               per-metric change, rank test, noise threshold
//   workbench export --format gbench RESULTS
//   workbench merge A.json B.json ... -o OUT
//   workbench recover OUT                   rebuild OUT from the journal a killed run left
//
// Chapters come from the manifest Meson writes (build/chapters.json); the runner has no list
// of its own.  Each trial runs in a fresh process so its peak RSS and thread count are its
// own; a watchdog kills a trial that overruns and the run goes on.  Every finished trial goes
// into a journal beside the results file at once; the results file is rewritten atomically now
// and then and at the end (runners/journal.hpp), so a crash or a SIGKILL never leaves it
// truncated, `workbench recover` rebuilds it from the journal, and Ctrl-C keeps every finished
// trial in it.
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "common/chapter.hpp"
#include "common/process.hpp"
#include "common/record.hpp"
#include "common/table.hpp"
#include "runners/claims.hpp"
#include "runners/commands.hpp"
#include "runners/journal.hpp"
#include "runners/plan.hpp"

#ifndef WB_MANIFEST
#define WB_MANIFEST "chapters.json"
#endif
#ifndef WB_SOURCE_ROOT
#define WB_SOURCE_ROOT "."
#endif

namespace {

using nlohmann::json;
using namespace wb::runner;

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) { g_interrupted.store(true); }

std::vector<ChapterEntry> load_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("no chapter manifest at " + path + " (build first: scripts/setup && ninja -C build)");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw UsageError("manifest " + path + " is not JSON: " + e.what());
  }
  std::vector<ChapterEntry> out;
  for (const auto& e : doc) out.push_back({e.at("name").get<std::string>(), e.at("exe").get<std::string>(), json()});
  return out;
}

json describe_chapter(const ChapterEntry& c) {
  wb::TempDir tmp("wb-describe");
  wb::ProcessSpec spec;
  spec.argv = {c.exe, "--describe"};
  spec.stdout_path = tmp.file("out");
  spec.stderr_path = tmp.file("err");
  spec.timeout = std::chrono::seconds(30);
  const auto r = wb::run_process(spec);
  if (!r.ok()) {
    throw std::runtime_error("chapter " + c.name + " (" + c.exe + ") --describe failed: " + r.describe() + " " +
                             wb::read_text_file(tmp.file("err")));
  }
  return json::parse(wb::read_text_file(tmp.file("out")));
}

const ChapterEntry& find_chapter(std::vector<ChapterEntry>& chapters, const std::string& name) {
  for (auto& c : chapters) {
    if (c.name == name) return c;
  }
  std::string known;
  for (const auto& c : chapters) known += " " + c.name;
  throw UsageError("no chapter named \"" + name + "\"; known:" + known);
}

std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::string eta_text(double seconds) {
  char buf[32];
  if (seconds < 90) std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  else if (seconds < 5400) std::snprintf(buf, sizeof buf, "%.0fm%02.0fs", std::floor(seconds / 60), std::fmod(seconds, 60));
  else std::snprintf(buf, sizeof buf, "%.1fh", seconds / 3600);
  return buf;
}

// Checks that the chapter accepts these parameters before the run starts, so a typo fails in
// a second with the chapter's own message instead of as N failed trials.
void preflight(const TrialSpec& t) {
  wb::TempDir tmp("wb-preflight");
  wb::ProcessSpec spec;
  spec.argv = {t.chapter->exe};
  for (const auto& a : t.args) spec.argv.push_back(a);
  spec.argv.push_back("--describe");
  spec.stdout_path = "/dev/null";
  spec.stderr_path = tmp.file("err");
  spec.timeout = std::chrono::seconds(30);
  const auto r = wb::run_process(spec);
  if (!r.ok()) {
    auto err = wb::read_text_file(tmp.file("err"));
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw UsageError("chapter " + t.chapter->name + " refuses these parameters:\n" + err);
  }
}

json run_trial(const TrialSpec& t, double timeout_s, const wb::TempDir& tmp) {
  wb::ProcessSpec spec;
  spec.argv = {t.chapter->exe, "--mode", t.variant, "--json", tmp.file("trial.json")};
  for (const auto& a : t.args) spec.argv.push_back(a);
  spec.stdout_path = "/dev/null";
  spec.stderr_path = tmp.file("trial.err");
  spec.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  spec.cancel = &g_interrupted;
  std::filesystem::remove(tmp.file("trial.json"));
  const auto r = wb::run_process(spec);

  const auto text = wb::read_text_file(tmp.file("trial.json"));
  json rec;
  if (!r.timed_out && !r.cancelled && !text.empty()) {
    rec = json::parse(text.substr(0, text.find('\n')));
  } else {
    // No record from the child: make one from what we know, so the trial is not lost.
    wb::TrialRecord empty;
    empty.chapter = t.chapter->name;
    empty.variant = t.variant;
    empty.params = t.params;
    empty.status = r.timed_out ? "timeout" : r.cancelled ? "interrupted" : "failed";
    const auto err = last_line(wb::read_text_file(tmp.file("trial.err")));
    if (r.timed_out) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "killed by the watchdog after %.1f s (--trial-timeout)", timeout_s);
      empty.reason = buf;
    } else {
      empty.reason = r.describe() + (err.empty() ? "" : ": " + err);
    }
    rec = empty;
  }
  rec["repetition"] = t.repetition;
  rec["exit"] = r.started ? (r.signal ? -r.signal : r.exit_code) : -1;
  return rec;
}

// Trials grouped by chapter and parameters, in first-seen order, each group split by variant.
struct Group {
  std::string chapter;
  json params;
  std::map<std::string, std::vector<json>> by_variant;
};

std::vector<Group> group_trials(const json& trials) {
  std::vector<Group> groups;
  for (const auto& t : trials) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
      return g.chapter == t.at("chapter") && g.params == t.at("params");
    });
    if (it == groups.end()) {
      groups.push_back({t.at("chapter").get<std::string>(), t.at("params"), {}});
      it = groups.end() - 1;
    }
    it->by_variant[t.at("variant").get<std::string>()].push_back(t);
  }
  return groups;
}

// The median record of a variant's successful repetitions (or its first failure), and "ok/total".
std::pair<wb::TrialRecord, std::string> summarise(const std::vector<json>& reps) {
  std::vector<json> good;
  for (const auto& t : reps) {
    if (t.at("status") == "ok") good.push_back(t);
  }
  wb::TrialRecord r;
  from_json(good.empty() ? reps.front() : median_record(good), r);
  return {r, std::to_string(good.size()) + "/" + std::to_string(reps.size())};
}

// The parameters that differ between the groups of one chapter: what a row must show.
std::vector<std::string> varying_params(const std::vector<Group>& groups, const std::string& chapter) {
  std::vector<std::string> keys;
  const json* first = nullptr;
  for (const auto& g : groups) {
    if (g.chapter != chapter) continue;
    if (!first) {
      first = &g.params;
      continue;
    }
    for (const auto& [k, v] : g.params.items()) {
      if ((*first).value(k, json()) != v && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
  }
  return keys;
}

// One line per variant and point: the figures a student compares first.  Medians over the
// repetitions that succeeded; the last column is async/sync for wall time.
void print_compact(const json& trials) {
  const auto groups = group_trials(trials);
  auto point_of = [&](const Group& g) {
    std::string point;
    for (const auto& k : varying_params(groups, g.chapter)) {
      point += (point.empty() ? "" : " ") + k + "=" + (g.params[k].is_string() ? g.params[k].get<std::string>() : g.params[k].dump());
    }
    return point.empty() ? std::string("defaults") : point;
  };
  int pw = 8;
  for (const auto& g : groups) pw = std::max(pw, static_cast<int>(point_of(g).size()));
  std::printf("\n%-12s %-*s %-5s %10s %10s %10s %7s %9s %10s %6s %9s\n", "chapter", pw, "point", "var", "wall",
              "lat p50", "lat p99", "threads", "peak RSS", "cpu", "ok", "wall a/s");
  std::string last_chapter;
  for (const auto& g : groups) {
    std::string point = point_of(g);
    double sync_wall = 0;
    for (const char* v : {"sync", "async"}) {
      const auto it = g.by_variant.find(v);
      if (it == g.by_variant.end()) continue;
      const auto [r, ok] = summarise(it->second);
      const auto& m = r.metrics;
      std::string ratio;
      if (std::string(v) == "sync") sync_wall = r.status == "ok" ? m.wall_s : 0;
      else if (sync_wall > 0 && r.status == "ok") ratio = std::to_string(m.wall_s / sync_wall).substr(0, 4) + "x";
      std::printf("%-12s %-*s %-5s %10s %10s %10s %7lld %9s %10s %6s %9s\n",
                  g.chapter == last_chapter ? "" : g.chapter.c_str(), pw, point.c_str(), v, wb::human_seconds(m.wall_s).c_str(),
                  wb::human_seconds(m.latency.p50_us / 1e6).c_str(), wb::human_seconds(m.latency.p99_us / 1e6).c_str(),
                  static_cast<long long>(m.resources.peak_threads),
                  wb::human_kib(static_cast<double>(m.resources.peak_rss_kib)).c_str(),
                  wb::human_seconds(m.resources.cpu_user_s + m.resources.cpu_sys_s).c_str(), ok.c_str(), ratio.c_str());
      last_chapter = g.chapter;
      point = "";
    }
  }
}

// The full side-by-side table of every metric and counter, one per point.
void print_full(const json& trials) {
  for (const auto& g : group_trials(trials)) {
    std::vector<wb::TrialRecord> recs;
    std::string oks;
    for (const char* v : {"sync", "async"}) {
      const auto it = g.by_variant.find(v);
      if (it == g.by_variant.end()) continue;
      auto [r, ok] = summarise(it->second);
      recs.push_back(std::move(r));
      oks += (oks.empty() ? "" : ", ") + std::string(v) + " " + ok;
    }
    std::cout << '\n';
    wb::print_table(std::cout, recs, g.chapter + "  " + wb::params_line(g.params) + "   (medians; ok: " + oks + ")");
  }
}

int cmd_run(std::vector<ChapterEntry>& all, const std::vector<std::string>& names, const std::vector<std::string>& sets,
            const std::vector<std::string>& sweeps, int repeat, bool quick, const std::string& mode,
            const std::string& out, double trial_timeout, const std::string& summary, const std::string& claims_catalog) {
  PlanRequest req;
  std::vector<ChapterEntry*> chosen;
  if (names.empty()) {
    for (auto& c : all) chosen.push_back(&c);
  } else {
    for (const auto& n : names) chosen.push_back(const_cast<ChapterEntry*>(&find_chapter(all, n)));
  }
  for (auto* c : chosen) {
    c->description = describe_chapter(*c);
    req.chapters.push_back(c);
  }
  try {
    for (const auto& s : sets) req.sets.push_back(parse_assignment(s, "--set"));
    for (const auto& s : sweeps) req.sweeps.push_back(parse_sweep(s));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  req.repeat = repeat;
  req.quick = quick;
  if (mode != "both") req.variants = {mode};
  std::vector<TrialSpec> plan;
  try {
    plan = make_plan(req);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  // One preflight per distinct parameter point (the variants share it).
  std::vector<std::vector<std::string>> checked;
  for (const auto& t : plan) {
    auto key = t.args;
    key.insert(key.begin(), t.chapter->name);
    if (std::find(checked.begin(), checked.end(), key) != checked.end()) continue;
    preflight(t);
    checked.push_back(std::move(key));
  }

  const json context = wb::make_context();
  json descriptions = json::object();
  for (const auto* c : chosen) descriptions[c->name] = c->description;
  json trials = json::array();
  ResultsJournal journal(out, context, descriptions);
  wb::TempDir tmp("wb-run");
  const auto t0 = std::chrono::steady_clock::now();
  int failures = 0;
  std::cerr << "workbench: " << plan.size() << " trials -> " << out << "\n";
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& t = plan[i];
    const auto started = std::chrono::steady_clock::now();
    json rec = run_trial(t, trial_timeout, tmp);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (rec.at("status") == "interrupted") break;  // not a result: leave it out of the file
    rec["order"] = i;
    const bool ok = rec.at("status") == "ok";
    if (!ok) ++failures;
    trials.push_back(rec);
    journal.add(rec);

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double eta = elapsed / static_cast<double>(i + 1) * static_cast<double>(plan.size() - i - 1);
    std::string args;
    for (std::size_t a = 0; a + 1 < t.args.size(); a += 2) args += " " + t.args[a].substr(2) + "=" + t.args[a + 1];
    char line[512];
    std::snprintf(line, sizeof line, "[%*zu/%zu] %-12s %-5s rep %d%s  %s %.2fs  ETA %s",
                  static_cast<int>(std::to_string(plan.size()).size()), i + 1, plan.size(), t.chapter->name.c_str(),
                  t.variant.c_str(), t.repetition + 1, args.c_str(), rec.at("status").get<std::string>().c_str(), took,
                  eta_text(eta).c_str());
    std::cerr << line;
    if (!ok) std::cerr << "  (" << rec.value("reason", "") << ")";
    std::cerr << std::endl;
  }
  // The file carries the claims ledger of its own trials, so a report needs nothing else.
  const json doc = wb::make_results(context, trials, descriptions);
  json ledger;
  try {
    ledger = build_ledger(check_expectations(doc, descriptions), load_claim_catalog(claims_catalog), doc, descriptions);
  } catch (const std::exception& e) {
    std::cerr << "workbench: no claims ledger in the results: " << e.what() << "\n";
  }
  journal.finish(ledger.is_object() ? json{{"claims", ledger}} : json::object());
  if (summary == "compact") print_compact(trials);
  if (summary == "full") print_full(trials);
  if (summary != "none" && ledger.is_object() && !trials.empty()) {
    std::string counts;
    for (const auto& [verdict, n] : ledger["summary"].items()) {
      counts += (counts.empty() ? "" : ", ") + std::to_string(n.get<int>()) + " " + verdict;
    }
    std::cout << "claims on this machine: " << counts << " (the ledger: workbench claims " << out << ")\n";
  }
  std::fflush(stdout);
  if (g_interrupted) {
    std::cerr << "workbench: interrupted; " << trials.size() << " finished trials kept in " << out << "\n";
    return 130;
  }
  std::cerr << "workbench: " << trials.size() << " trials, " << failures << " not ok; results in " << out << "\n";
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"workbench: run the sync/async chapters and record what each costs", "workbench"};
  app.require_subcommand(1);
  std::string manifest = WB_MANIFEST;
  if (const char* m = std::getenv("WORKBENCH_MANIFEST")) manifest = m;
  app.add_option("--manifest", manifest, "chapter manifest written by Meson")->capture_default_str();

  auto* list = app.add_subcommand("list", "list the chapters");
  auto* describe = app.add_subcommand("describe", "print a chapter's description (options, metrics, expectations)");
  std::string describe_name;
  describe->add_option("chapter", describe_name, "chapter name")->required();

  auto* run = app.add_subcommand("run", "run trials and write a results file");
  std::vector<std::string> names, sets, sweeps;
  int repeat = 1;
  std::string mode = "both";
  std::string out = std::string(WB_SOURCE_ROOT) + "/results/latest.json";
  double trial_timeout = 60;
  std::string summary = "compact";
  bool quick = false;
  run->add_option("chapters", names, "chapters to run (default: all)");
  run->add_option("--set", sets, "set a parameter for every trial: KEY=VALUE (repeatable)")->type_name("K=V");
  run->add_option("--sweep", sweeps, "run each value: KEY=V1,V2,... (repeatable: the cartesian product)")
      ->type_name("K=V,...");
  run->add_option("--repeat", repeat, "trials per variant and parameter point")->check(CLI::Range(1, 1000))->capture_default_str();
  run->add_option("--mode", mode, "variants to run")->check(CLI::IsMember({"sync", "async", "both"}))->capture_default_str();
  run->add_option("--out", out, "results file (written atomically; every trial journaled in OUT.journal at once)")
      ->capture_default_str();
  run->add_option("--trial-timeout", trial_timeout, "seconds before the watchdog kills a trial")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  run->add_flag("--quick", quick, "add each chapter's quick sweep (a few points that show its lesson in seconds)");
  run->add_option("--summary", summary, "at the end: a line per variant and point, every metric, or nothing")
      ->check(CLI::IsMember({"compact", "full", "none"}))
      ->capture_default_str();

  auto* check = app.add_subcommand("check", "check the chapters' invariants on a results file (what CI gates on)");
  std::string check_path, check_json;
  check->add_option("results", check_path, "results file")->required();
  check->add_option("--json", check_json, "also write the verdicts as JSON to this file ('-' = stdout)");
  check->footer("Exit: 0 all hold, 1 one failed, 3 the file lacks trials an invariant needs, 2 bad input.\n"
                "Claims never change the exit code: see `workbench claims`.");

  auto* claims = app.add_subcommand("claims", "the claims ledger: a verdict per claim of the source analysis on this run's machine");
  std::string claims_path, claims_json, claims_baseline;
  std::string claims_catalog = std::string(WB_SOURCE_ROOT) + "/results/claims.json";
  bool fail_on_change = false, catalog_only = false;
  claims->add_option("results", claims_path, "results file");
  claims->add_option("--json", claims_json, "also write the ledger as JSON to this file ('-' = stdout)");
  claims->add_option("--baseline", claims_baseline, "an earlier results file: print the verdicts that changed");
  claims->add_flag("--fail-on-change", fail_on_change, "with --baseline: exit 1 when a verdict flipped on the same host");
  claims->add_flag("--catalog", catalog_only, "print CLAIMS.md: every claim and the chapters of this build that test it");
  app.add_option("--claims-catalog", claims_catalog, "the claims the source analysis makes (JSON)")->capture_default_str();
  claims->footer(
      "Verdicts: holds, does not hold, inconclusive (the repetitions' spread straddles the bound, or one\n"
      "repetition), mixed (chapters or points disagree), not measured.  Exit 0 whatever the verdicts; 1 with\n"
      "--fail-on-change when a verdict flipped between holds and does not hold on the same host; 2 bad input.");

  auto* compare = app.add_subcommand("compare", "per-metric change between two results files");
  std::string old_path, new_path, compare_json;
  CompareOptions copts;
  bool fail_on_regression = false, changed_only = false;
  std::vector<std::string> metrics;
  compare->add_option("old", old_path, "baseline results file")->required();
  compare->add_option("new", new_path, "results file to judge")->required();
  compare->add_option("--metric", metrics, "metrics to compare (repeatable; default: wall, throughput, p50, p99, cpu, RSS, threads)");
  compare->add_option("--threshold", copts.threshold, "relative change below which a difference is noise")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  compare->add_option("--alpha", copts.alpha, "significance level")->check(CLI::Range(0.0001, 0.5))->capture_default_str();
  compare->add_option("--json", compare_json, "also write the diff as JSON to this file ('-' = stdout)");
  compare->add_flag("--fail-on-regression", fail_on_regression, "exit 1 when a metric got worse beyond noise");
  compare->add_flag("--changed-only", changed_only, "print only the metrics that changed beyond noise");

  auto* exporter = app.add_subcommand("export", "write a results file in another tool's format");
  std::string export_format = "gbench", export_path, export_out;
  exporter->add_option("--format", export_format, "gbench: Google Benchmark JSON (compare.py, dashboards)")
      ->check(CLI::IsMember({"gbench"}))
      ->capture_default_str();
  exporter->add_option("results", export_path, "results file")->required();
  exporter->add_option("-o,--out", export_out, "output file (default: stdout)");

  auto* recover = app.add_subcommand("recover", "rebuild a results file from the journal a killed run left beside it");
  std::string recover_out;
  recover->add_option("results", recover_out, "the results file (its journal is RESULTS.journal)")->required();

  auto* merge = app.add_subcommand("merge", "merge the results files of several machines into one");
  std::vector<std::string> merge_paths;
  std::string merge_out;
  merge->add_option("results", merge_paths, "results files")->required();
  merge->add_option("-o,--out", merge_out, "merged file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  // Ctrl-C and SIGTERM end the current trial and keep the finished ones.  No SA_RESTART, so a
  // blocking wait returns early and sees the flag.
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  try {
    if (compare->parsed()) {
      if (!metrics.empty()) copts.metrics = metrics;
      return cmd_compare(old_path, new_path, copts, compare_json, fail_on_regression, changed_only);
    }
    if (exporter->parsed()) return cmd_export(export_path, export_format, export_out);
    if (merge->parsed()) return cmd_merge(merge_paths, merge_out);
    if (recover->parsed()) {
      std::size_t n = 0;
      try {
        n = recover_results(recover_out);
      } catch (const std::runtime_error& e) {
        throw UsageError(e.what());
      }
      std::cerr << "workbench: " << recover_out << " rebuilt with " << n << " trials from " << recover_out << ".journal\n";
      return 0;
    }
    // The build's current declarations, when there is a build; a file's own otherwise.
    const auto current_for = [&](const std::string& results_path) {
      json current = json::object();
      if (!std::filesystem::exists(manifest)) return current;
      const json doc = results_path.empty() ? json{{"trials", json::array()}} : load_results(results_path);
      for (auto& c : load_manifest(manifest)) {
        const bool used = results_path.empty() || std::any_of(doc["trials"].begin(), doc["trials"].end(), [&](const json& t) {
                            return t.value("chapter", "") == c.name;
                          });
        if (used) current[c.name] = describe_chapter(c);
      }
      return current;
    };
    if (check->parsed()) return cmd_check(check_path, current_for(check_path), check_json);
    if (claims->parsed()) {
      if (catalog_only) return cmd_claims_catalog(claims_catalog, current_for(""));
      if (claims_path.empty()) throw UsageError("claims: a results file is required (or --catalog)");
      if (fail_on_change && claims_baseline.empty()) throw UsageError("claims: --fail-on-change needs --baseline OLD");
      json current = current_for(claims_path);
      if (!claims_baseline.empty()) current.update(current_for(claims_baseline));
      return cmd_claims(claims_path, current, claims_catalog, claims_json, claims_baseline, fail_on_change);
    }
    auto chapters = load_manifest(manifest);
    if (list->parsed()) {
      for (auto& c : chapters) {
        const auto d = describe_chapter(c);
        std::printf("%-14s %s\n", c.name.c_str(), d.value("title", "").c_str());
      }
      return 0;
    }
    if (describe->parsed()) {
      std::cout << describe_chapter(find_chapter(chapters, describe_name)).dump(2) << '\n';
      return 0;
    }
    return cmd_run(chapters, names, sets, sweeps, repeat, quick, mode, out, trial_timeout, summary, claims_catalog);
  } catch (const UsageError& e) {
    std::cerr << "workbench: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "workbench: " << e.what() << '\n';
    return 1;
  }
}
