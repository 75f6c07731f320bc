#include "runners/run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>

#include "common/files.hpp"
#include "common/format.hpp"
#include "common/process.hpp"
#include "common/record.hpp"
#include "common/table.hpp"
#include "common/usage_error.hpp"
#include "runners/chapters.hpp"
#include "runners/check.hpp"
#include "runners/claims.hpp"
#include "runners/journal.hpp"
#include "runners/metrics.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) { g_interrupted.store(true); }

std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::string eta_text(double seconds) {
  char buf[32];
  if (seconds < 90)
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  else if (seconds < 5400)
    std::snprintf(buf, sizeof buf, "%.0fm%02.0fs", std::floor(seconds / 60), std::fmod(seconds, 60));
  else
    std::snprintf(buf, sizeof buf, "%.1fh", seconds / 3600);
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
  std::string bad_record;  // why the chapter's record cannot be trusted
  if (!r.timed_out && !r.cancelled && !text.empty()) {
    const auto line = text.substr(0, text.find('\n'));
    try {
      rec = json::parse(line);
      if (!rec.is_object() || !rec.contains("status") || !rec.contains("metrics"))
        bad_record = "the chapter's record is JSON but not a trial record: " + line.substr(0, 80);
    } catch (const json::parse_error&) {
      bad_record = "the chapter's record is not JSON (truncated?): " + line.substr(0, 80);
    }
  }
  if (bad_record.empty() && !rec.is_null() && rec.value("status", "") == "ok" && !r.ok()) {
    // A record that says ok from a process that then failed: the process's word wins.
    rec["status"] = "failed";
    rec["reason"] = "the chapter wrote an ok record, then " + r.describe();
  }
  if (!rec.is_null() && bad_record.empty()) {
    // The chapter's own record.
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
    } else if (!bad_record.empty()) {
      empty.status = "failed";
      empty.reason = bad_record + " (" + r.describe() + ")";
    } else {
      empty.reason = r.describe() + (err.empty() ? "" : ": " + err);
    }
    rec = empty;
  }
  rec["repetition"] = t.repetition;
  rec["point"] = json::array();
  for (const auto& [key, value] : t.point) rec["point"].push_back({key, value});
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
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& g) { return g.chapter == t.at("chapter") && g.params == t.at("params"); });
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
// repetitions that succeeded; the last column is wall time over the chapter's baseline variant's.
void print_compact(const json& trials, const json& descriptions) {
  const auto groups = group_trials(trials);
  // A row names its point as the plan made it, less the keys every trial of the chapter shares.
  auto point_of = [&](const Group& g) {
    const auto varying = varying_params(groups, g.chapter);
    std::string point;
    for (const auto& pair : g.by_variant.begin()->second.front().at("point")) {
      const auto key = pair.at(0).get<std::string>();
      if (std::find(varying.begin(), varying.end(), key) != varying.end())
        point += (point.empty() ? "" : " ") + key + "=" + pair.at(1).get<std::string>();
    }
    return point.empty() ? std::string("defaults") : point;
  };
  int chapter_width = 7, point_width = 8, variant_width = 5;
  for (const auto& g : groups) {
    chapter_width = std::max(chapter_width, static_cast<int>(g.chapter.size()));
    point_width = std::max(point_width, static_cast<int>(point_of(g).size()));
    for (const auto& [v, reps] : g.by_variant) variant_width = std::max(variant_width, static_cast<int>(v.size()));
  }
  std::printf("\n%-*s %-*s %-*s %10s %10s %10s %7s %9s %10s %6s %10s\n", chapter_width, "chapter", point_width, "point",
              variant_width, "var", "wall", "lat p50", "lat p99", "threads", "peak RSS", "cpu", "ok", "wall/base");
  std::string last_chapter;
  bool no_ratio = false;
  for (const auto& g : groups) {
    const json description = descriptions.value(g.chapter, json::object());
    const std::string baseline = baseline_of(description);
    double base_wall = 0;
    if (const auto b = g.by_variant.find(baseline); b != g.by_variant.end()) {
      const auto [r, ok] = summarise(b->second);
      base_wall = r.status == "ok" ? r.metrics.wall_s : 0;
    }
    std::string point = point_of(g);
    for (const auto& v : variants_of(description)) {
      const auto it = g.by_variant.find(v);
      if (it == g.by_variant.end()) continue;
      const auto [r, ok] = summarise(it->second);
      const auto& m = r.metrics;
      // A chapter that times units rather than operations (switches, spawns) records no latency: "-".
      auto latency = [&](double us) { return m.latency.count ? wb::human_seconds(us / 1e6) : std::string("-"); };
      std::string ratio;
      if (v == baseline) {
        ratio = "(base)";
      } else if (ends_early(description, v)) {
        ratio = "(no ratio)";  // its process may end early by design: its wall time is no speed
        no_ratio = true;
      } else if (base_wall > 0 && r.status == "ok") {
        ratio = wb::format_number("%.2fx", m.wall_s / base_wall);
      }
      std::printf("%-*s %-*s %-*s %10s %10s %10s %7lld %9s %10s %6s %10s\n", chapter_width,
                  g.chapter == last_chapter ? "" : g.chapter.c_str(), point_width, point.c_str(), variant_width,
                  v.c_str(), wb::human_seconds(m.wall_s).c_str(), latency(m.latency.p50_us).c_str(),
                  latency(m.latency.p99_us).c_str(), static_cast<long long>(m.resources.peak_threads),
                  wb::human_kib(static_cast<double>(m.resources.peak_rss_kib)).c_str(),
                  wb::human_seconds(m.resources.cpu_user_s + m.resources.cpu_sys_s).c_str(), ok.c_str(), ratio.c_str());
      last_chapter = g.chapter;
      point = "";
    }
  }
  // One legend for the last column: which variant each chapter divides by, where it is not sync.
  std::string others;
  std::vector<std::string> seen;
  for (const auto& g : groups) {
    if (std::find(seen.begin(), seen.end(), g.chapter) != seen.end()) continue;
    seen.push_back(g.chapter);
    const std::string baseline = baseline_of(descriptions.value(g.chapter, json::object()));
    if (baseline != "sync") others += (others.empty() ? "" : ", ") + g.chapter + " over " + baseline;
  }
  std::printf("wall/base: a variant's wall time over its chapter's (base) variant's, below 1 = faster; over sync%s%s\n",
              others.empty() ? "" : (" except " + others).c_str(),
              no_ratio ? "; (no ratio): its process may end early by design" : "");
}

// The full side-by-side table of every metric and counter, one per point.
void print_full(const json& trials, const json& descriptions) {
  for (const auto& g : group_trials(trials)) {
    const json description = descriptions.value(g.chapter, json::object());
    std::vector<wb::TrialRecord> recs;
    std::string oks;
    for (const auto& v : variants_of(description)) {
      const auto it = g.by_variant.find(v);
      if (it == g.by_variant.end()) continue;
      auto [r, ok] = summarise(it->second);
      recs.push_back(std::move(r));
      oks += (oks.empty() ? "" : ", ") + v + " " + ok;
    }
    std::cout << '\n';
    wb::print_table(std::cout, recs, g.chapter + "  " + wb::params_line(g.params) + "   (medians; ok: " + oks + ")",
                    baseline_of(description));
  }
}

}  // namespace

int cmd_run(std::vector<ChapterEntry>& all, const RunOptions& options) {
  const auto& [names, request, out, trial_timeout, summary, claims_catalog, label] = options;
  PlanRequest req = request;
  const std::string& mode = req.mode;
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
  std::vector<TrialSpec> plan;
  try {
    plan = make_plan(req);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  for (const auto* c : chosen) {
    if (select_variants(c->description, mode).empty()) {
      std::string has;
      for (const auto& v : variants_of(c->description)) has += (has.empty() ? "" : ", ") + v;
      std::cerr << "workbench: " << c->name << " has none of --mode " << mode << " (it has " << has << "): not run\n";
    }
  }
  int variant_width = 5;
  for (const auto& t : plan) variant_width = std::max(variant_width, static_cast<int>(t.variant.size()));
  // One preflight per distinct parameter point (the variants share it).
  std::vector<std::vector<std::string>> checked;
  for (const auto& t : plan) {
    auto key = t.args;
    key.insert(key.begin(), t.chapter->name);
    if (std::find(checked.begin(), checked.end(), key) != checked.end()) continue;
    preflight(t);
    checked.push_back(std::move(key));
  }

  json context = wb::make_context();
  context["label"] = label.empty() ? context.value("host", "") : label;
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
    std::snprintf(line, sizeof line, "[%*zu/%zu] %-12s %-*s rep %d%s  %s %.2fs  ETA %s",
                  static_cast<int>(std::to_string(plan.size()).size()), i + 1, plan.size(), t.chapter->name.c_str(),
                  variant_width, t.variant.c_str(), t.repetition + 1, args.c_str(),
                  rec.at("status").get<std::string>().c_str(), took, eta_text(eta).c_str());
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
  if (summary == "compact") print_compact(trials, descriptions);
  if (summary == "full") print_full(trials, descriptions);
  if (summary != "none" && ledger.is_object() && !trials.empty()) {
    std::string counts;
    for (const auto& [verdict, n] : ledger["summary"].items()) {
      counts += (counts.empty() ? "" : ", ") + std::to_string(n.get<int>()) + " " + verdict;
    }
    std::cout << "claims of the source analysis, verdicts on this machine: " << counts
              << " (why, claim by claim: workbench claims " << out << ")\n";
  }
  std::fflush(stdout);
  if (g_interrupted) {
    std::cerr << "workbench: interrupted; " << trials.size() << " finished trials kept in " << out << "\n";
    return 130;
  }
  std::cerr << "workbench: " << trials.size() << " trials, " << failures << " not ok; results in " << out << "\n";
  return failures ? 1 : 0;
}

void stop_run_on_signals() {
  // No SA_RESTART, so a blocking wait returns early and sees the flag.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace wb::runner
