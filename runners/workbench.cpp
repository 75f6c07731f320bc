// workbench — runs the chapters as child processes, one per trial, and writes the results.
//
//   workbench list
//   workbench describe CHAPTER
//   workbench run [CHAPTER...] [--set k=v]... [--sweep k=v1,v2,...] [--repeat N]
//                 [--quick] [--mode sync|async|both] [--out FILE] [--trial-timeout S]
//   workbench lab CHAPTER [--predict ID=VALUE]... [--answers FILE] [--repeat N] [--out FILE]
//                                           predict, run, and see the answers beside the measurement
//   workbench check RESULTS                 the chapters' invariants: exit 1 / 3 when one fails / lacks trials
//   workbench claims RESULTS [--baseline OLD] the claims ledger: a verdict per claim, never a failure
//   workbench claims --catalog              CLAIMS.md: the claims and the chapters that test them
//   workbench compare OLD NEW               per-metric change, rank test, noise threshold
//   workbench export --format gbench|bmf|hgrm [--trial N] RESULTS
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
//
// This file is the command line; each command is read in a file of its own: run.cpp, check.cpp,
// lab.cpp, claims.cpp, compare.cpp, interop.cpp (export, merge), journal.cpp (recover), with
// metrics.cpp (metrics by name) and statistics.cpp (the U test, the bootstrap) shared.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "runners/chapters.hpp"
#include "runners/check.hpp"
#include "runners/claims.hpp"
#include "runners/compare.hpp"
#include "runners/interop.hpp"
#include "runners/journal.hpp"
#include "runners/lab.hpp"
#include "runners/results_files.hpp"
#include "runners/run.hpp"

#ifndef WB_MANIFEST
#define WB_MANIFEST "chapters.json"
#endif
#ifndef WB_SOURCE_ROOT
#define WB_SOURCE_ROOT "."
#endif

using nlohmann::json;
using namespace wb::runner;

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

  const auto valid_label = [](const std::string& l) {
    if (l.empty() || l.size() > 64) return std::string("a label has 1 to 64 characters");
    for (const unsigned char ch : l)
      if (ch < 0x20 || ch == 0x7f) return std::string("a label has no control characters");
    return std::string();
  };
  auto* run = app.add_subcommand("run", "run trials and write a results file");
  RunOptions run_options;
  run_options.out = std::string(WB_SOURCE_ROOT) + "/results/latest.json";
  auto& plan = run_options.plan;
  // --set and --sweep are parsed as they are read: a malformed one is bad usage (exit 2).
  auto parsed = [](auto parse) {
    return [parse](const std::string& text) {
      try {
        parse(text);
      } catch (const std::invalid_argument& e) {
        throw CLI::ValidationError(e.what());
      }
    };
  };
  run->add_option("chapters", run_options.names, "chapters to run (default: all)");
  std::vector<std::string> set_words, sweep_words;  // as typed; parsed into plan by each()
  run->add_option("--set", set_words, "set a parameter for every trial: KEY=VALUE (repeatable)")
      ->type_name("K=V")
      ->each(parsed([&plan](const std::string& t) { plan.sets.push_back(parse_assignment(t, "--set")); }));
  run->add_option("--sweep", sweep_words, "run each value: KEY=V1,V2,... (repeatable: the cartesian product)")
      ->type_name("K=V,...")
      ->each(parsed([&plan](const std::string& t) { plan.sweeps.push_back(parse_sweep(t)); }));
  run->add_option("--repeat", plan.repeat, "trials per variant and parameter point")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_option("--mode", plan.mode,
                  "variants to run: all (both is its old name), a variant (sync, async, or one a chapter declares: "
                  "`workbench describe CHAPTER`), or a comma-separated list")
      ->type_name("VARIANTS")
      ->capture_default_str();
  run->add_option("--out", run_options.out,
                  "results file (written atomically; every trial journaled in OUT.journal at once)")
      ->capture_default_str();
  run->add_option("--trial-timeout", run_options.trial_timeout, "seconds before the watchdog kills a trial")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  run->add_option("--label", run_options.label,
                  "this machine's name in the results (default: the host name): a class's merged file tells its "
                  "machines apart by it")
      ->check(valid_label);
  run->add_flag("--quick", plan.quick, "add each chapter's quick sweep (a few points that show its lesson in seconds)");
  run->add_option("--summary", run_options.summary,
                  "at the end: a line per variant and point, every metric, or nothing")
      ->check(CLI::IsMember({"compact", "full", "none"}))
      ->capture_default_str();

  auto* lab = app.add_subcommand(
      "lab", "predict, then run: a chapter's questions answered before it runs, and set against the measurement");
  LabOptions lab_options;
  lab->add_option("chapter", lab_options.chapter, "the chapter (workbench list)")->required();
  lab->add_option("--predict", lab_options.predict, "an answer given in advance: ID=VALUE (repeatable)")
      ->type_name("ID=VALUE");
  lab->add_option("--answers", lab_options.answers_file, "answers in a file, a line ID=VALUE each ('#' comments)")
      ->type_name("FILE");
  lab->add_option("--repeat", lab_options.repeat, "trials per variant at each point")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  lab->add_option("--out", lab_options.out,
                  "results file, the answers in its \"lab\" (default: results/lab-CHAPTER.json)");
  lab->add_option("--label", lab_options.label,
                  "this machine's (or student's) name in the results (default: the host name)")
      ->check(valid_label);
  lab->add_option("--trial-timeout", lab_options.trial_timeout, "seconds before the watchdog kills a trial")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  lab->footer(
      "Unanswered questions are asked at a terminal; without one, every question needs an answer (exit 2).\n"
      "The answers never change the exit code: 0, or 1 when a trial failed.");

  auto* check = app.add_subcommand("check", "check the chapters' invariants on a results file (what CI gates on)");
  std::string check_path, check_json;
  check->add_option("results", check_path, "results file")->required();
  check->add_option("--json", check_json, "also write the verdicts as JSON to this file ('-' = stdout)");
  check->footer(
      "Exit: 0 all hold, 1 one failed, 3 the file lacks trials an invariant needs, 2 bad input.\n"
      "Claims never change the exit code: see `workbench claims`.");

  auto* claims = app.add_subcommand(
      "claims", "the claims ledger: a verdict per claim of the source analysis on this run's machine");
  std::string claims_path, claims_json, claims_baseline;
  std::string claims_catalog = std::string(WB_SOURCE_ROOT) + "/results/claims.json";
  bool fail_on_change = false, catalog_only = false;
  claims->add_option("results", claims_path, "results file");
  claims->add_option("--json", claims_json, "also write the ledger as JSON to this file ('-' = stdout)");
  claims->add_option("--baseline", claims_baseline, "an earlier results file: print the verdicts that changed");
  claims->add_flag("--fail-on-change", fail_on_change,
                   "with --baseline: exit 1 when a verdict flipped on the same host");
  claims->add_flag("--catalog", catalog_only,
                   "print CLAIMS.md: every claim and the chapters of this build that test it");
  app.add_option("--claims-catalog", claims_catalog, "the claims the source analysis makes (JSON)")
      ->capture_default_str();
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
  compare->add_option("--metric", metrics,
                      "metrics to compare (repeatable; default: wall, throughput, p50, p99, cpu, RSS, threads)");
  compare->add_option("--threshold", copts.threshold, "relative change below which a difference is noise")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  compare->add_option("--alpha", copts.alpha, "significance level")
      ->check(CLI::Range(0.0001, 0.5))
      ->capture_default_str();
  compare->add_option("--json", compare_json, "also write the diff as JSON to this file ('-' = stdout)");
  compare->add_flag("--fail-on-regression", fail_on_regression, "exit 1 when a metric got worse beyond noise");
  compare->add_flag("--changed-only", changed_only, "print only the metrics that changed beyond noise");

  auto* exporter = app.add_subcommand("export", "write a results file in another tool's format");
  std::string export_format = "gbench", export_path, export_out;
  exporter
      ->add_option("--format", export_format,
                   "gbench: Google Benchmark JSON (compare.py, dashboards); bmf: Bencher's BMF JSON; hgrm: one "
                   "trial's latency percentile distribution, as HdrHistogram writes it")
      ->check(CLI::IsMember({"gbench", "bmf", "hgrm"}))
      ->capture_default_str();
  long export_trial = -1;
  exporter->add_option("--trial", export_trial, "hgrm: the trial to read, its index in the file's trials (0-based)");
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
  bool label_from_filename = false;
  merge->add_flag("--label-from-filename", label_from_filename,
                  "label each file's trials by its file name (alice.json: alice), for a folder of students' files "
                  "from machines that share a host name");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  stop_run_on_signals();  // Ctrl-C and SIGTERM end the current trial and keep the finished ones

  try {
    if (compare->parsed()) {
      if (!metrics.empty()) copts.metrics = metrics;
      return cmd_compare(old_path, new_path, copts, compare_json, fail_on_regression, changed_only);
    }
    if (exporter->parsed()) return cmd_export(export_path, export_format, export_out, export_trial);
    if (merge->parsed()) return cmd_merge(merge_paths, merge_out, label_from_filename);
    if (recover->parsed()) {
      RecoveredResults r;
      try {
        r = recover_results(recover_out);
      } catch (const std::runtime_error& e) {
        throw UsageError(e.what());
      }
      std::cerr << "workbench: " << recover_out << " rebuilt with " << r.trials << " trials from " << recover_out
                << ".journal";
      if (r.dropped > 0) std::cerr << " (" << r.dropped << " line(s) dropped: cut off, or after a cut-off line)";
      std::cerr << "\n";
      return 0;
    }
    // The build's current declarations, when there is a build; a file's own otherwise.
    const auto current_for = [&](const std::string& results_path) {
      json current = json::object();
      if (!std::filesystem::exists(manifest)) return current;
      const json doc = results_path.empty() ? json{{"trials", json::array()}} : load_results(results_path);
      for (auto& c : load_manifest(manifest)) {
        const bool used =
            results_path.empty() || std::any_of(doc["trials"].begin(), doc["trials"].end(),
                                                [&](const json& t) { return t.value("chapter", "") == c.name; });
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
    if (lab->parsed()) {
      lab_options.claims_catalog = claims_catalog;
      lab_options.source_root = WB_SOURCE_ROOT;
      if (lab_options.out.empty())
        lab_options.out = std::string(WB_SOURCE_ROOT) + "/results/lab-" + lab_options.chapter + ".json";
      return cmd_lab(chapters, lab_options);
    }
    run_options.claims_catalog = claims_catalog;
    return cmd_run(chapters, run_options);
  } catch (const UsageError& e) {
    std::cerr << "workbench: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "workbench: " << e.what() << '\n';
    return 1;
  }
}
