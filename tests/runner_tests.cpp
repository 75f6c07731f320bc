// The runner, run as a user runs it, against the fake chapter.
#include <cctype>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "common/defer.hpp"
#include "common/files.hpp"
#include "common/record.hpp"
#include "tests/support.hpp"

using nlohmann::json;

namespace {

struct Setup {
  wb::TempDir dir{"wb-runner-test"};
  std::string workbench = test::exe_from_env("WB_WORKBENCH");
  std::string manifest = dir.file("chapters.json");
  std::string out = dir.file("results.json");
  Setup() {
    std::ofstream(manifest) << json::array({{{"name", "fake"}, {"exe", test::exe_from_env("WB_FAKE_CHAPTER")}}}).dump();
  }
  std::vector<std::string> cmd(std::vector<std::string> extra) const {
    std::vector<std::string> a = {workbench, "--manifest", manifest, "run", "fake", "--out", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

// Waits (bounded) until the results file holds n trials; polls a condition, no fixed sleep.
bool wait_for_trials(const std::string& path, std::size_t n, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (wb::read_results(path)["trials"].size() >= n) return true;
    } catch (const std::exception&) {
      // not there yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST_CASE("a sweep with repetitions runs sync and async alternately, one process each", "[runner]") {
  Setup s;
  const auto r = test::run(s.cmd({"--sweep", "ops=3,4", "--repeat", "2"}));
  CHECK(r.code() == 0);
  const auto doc = wb::read_results(s.out);
  const auto& trials = doc["trials"];
  REQUIRE(trials.size() == 8);
  for (std::size_t i = 0; i < trials.size(); ++i) {
    CHECK(trials[i]["variant"] == (i % 2 == 0 ? "sync" : "async"));
    CHECK(trials[i]["order"] == i);
    CHECK(trials[i]["status"] == "ok");
  }
  CHECK(trials[0]["params"]["ops"] == 3);
  CHECK(trials[2]["params"]["ops"] == 4);
  CHECK(trials[4]["repetition"] == 1);
  CHECK(trials[0]["metrics"]["latency_us"]["count"] == 3);
  CHECK(doc["context"].contains("git"));
  // Progress on stderr: trials done / total and an ETA.
  CHECK_THAT(r.err, Catch::Contains("[8/8]") && Catch::Contains("ETA"));
  // The compact summary: a line per variant and point, with the async/sync wall ratio.
  CHECK_THAT(r.out, Catch::Contains("wall/base") && Catch::Contains("(base)") && Catch::Contains("ops=3") &&
                        Catch::Contains("ops=4"));
  // The full one: every metric, side by side.
  const auto full = test::run(s.cmd({"--set", "ops=2", "--summary", "full"}));
  CHECK_THAT(full.out, Catch::Contains("async/sync") && Catch::Contains("latency p99.9"));
}

TEST_CASE("a chapter's named variants run in its order, each its own trial, ratios against its baseline",
          "[runner][variants]") {
  Setup s;
  ::setenv("WB_FAKE_VARIANTS", "threads,stackless,stackful", 1);
  ::setenv("WB_FAKE_BASELINE", "stackless", 1);
  const wb::Defer unset([] {
    ::unsetenv("WB_FAKE_VARIANTS");
    ::unsetenv("WB_FAKE_BASELINE");
  });
  const std::vector<std::string> all = {"threads", "stackless", "stackful"};
  {
    const auto r = test::run(s.cmd({"--sweep", "ops=3,4", "--summary", "compact"}));
    CHECK(r.code() == 0);
    const auto doc = wb::read_results(s.out);
    REQUIRE(doc["trials"].size() == 6);
    for (std::size_t i = 0; i < 6; ++i) CHECK(doc["trials"][i]["variant"] == all[i % 3]);
    CHECK(doc["chapters"]["fake"]["variants"] == json(all));
    CHECK(doc["chapters"]["fake"]["baseline"] == "stackless");
    // The compact summary marks the baseline and gives the others' wall time over it.
    std::istringstream lines(r.out);
    int base_rows = 0, ratio_rows = 0;
    bool legend = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("wall/base:", 0) == 0) {  // the legend names the chapter's baseline
        legend = line.find("fake over stackless") != std::string::npos;
        continue;
      }
      if (line.find("stackless") != std::string::npos && line.find("(base)") != std::string::npos) ++base_rows;
      if ((line.find("threads ") != std::string::npos || line.find("stackful") != std::string::npos) &&
          line.find('x') != std::string::npos)
        ++ratio_rows;
    }
    CHECK(base_rows == 2);
    CHECK(ratio_rows >= 4);
    CHECK(legend);
    // An invariant over a named variant is checked like any other.
    const auto check = test::run({s.workbench, "--manifest", s.manifest, "check", s.out});
    CHECK(check.code() == 0);
    CHECK_THAT(check.out, Catch::Contains("first-on-one-thread"));
  }
  {
    // A list keeps the chapter's order, whatever the command line's.
    const auto r = test::run(s.cmd({"--mode", "stackful,threads", "--summary", "full"}));
    CHECK(r.code() == 0);
    const auto trials = wb::read_results(s.out)["trials"];
    REQUIRE(trials.size() == 2);
    CHECK(trials[0]["variant"] == "threads");
    CHECK(trials[1]["variant"] == "stackful");
    // Without its baseline in the run, the full table has no ratio column.
    CHECK_THAT(r.out, !Catch::Contains("/stackless"));
  }
  {
    const auto r = test::run(s.cmd({"--mode", "sync"}));
    CHECK(r.code() == 2);
    CHECK_THAT(r.err, Catch::Contains("--mode sync") && Catch::Contains("stackful"));
  }
  {
    // The chapter alone: every variant in a child of its own, a ratio column per non-baseline one.
    const auto exe = test::exe_from_env("WB_FAKE_CHAPTER");
    const auto r = test::run({exe, "--ops", "3", "--json", s.dir.file("direct.json")});
    CHECK(r.code() == 0);
    const auto recs = test::json_lines(wb::read_text_file(s.dir.file("direct.json")));
    REQUIRE(recs.size() == 3);
    CHECK(recs[2]["variant"] == "stackful");
    CHECK_THAT(r.out, Catch::Contains("threads/stackless") && Catch::Contains("stackful/stackless"));
    const auto bad = test::run({exe, "--mode", "async"});
    CHECK(bad.code() == 2);
    CHECK_THAT(bad.err, Catch::Contains("no variant \"async\"") && Catch::Contains("threads, stackless, stackful"));
  }
}

TEST_CASE("a hung trial is killed by the watchdog, recorded as timeout, and the run goes on", "[runner]") {
  Setup s;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = test::run(
      s.cmd({"--set", "behaviour=hang", "--set", "only_variant=async", "--repeat", "2", "--trial-timeout", "3"}));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.code() == 1);  // not every trial was ok
  const auto trials = wb::read_results(s.out)["trials"];
  REQUIRE(trials.size() == 4);
  CHECK(trials[0]["status"] == "ok");
  CHECK(trials[1]["status"] == "timeout");
  CHECK_THAT(trials[1]["reason"].get<std::string>(), Catch::Contains("watchdog"));
  CHECK(trials[1]["params"]["behaviour"] == "hang");  // a record made by the runner still says what ran
  CHECK(trials[2]["status"] == "ok");
  CHECK(trials[3]["status"] == "timeout");
  CHECK(took < 60);  // two 3 s timeouts (a budget a sanitizer build meets under load), not hours of sleep
}

TEST_CASE("a crashed trial and a failed trial are recorded with their reasons", "[runner]") {
  Setup s;
  {
    const auto r = test::run(s.cmd({"--set", "behaviour=crash", "--mode", "sync"}));
    CHECK(r.code() == 1);
    const auto t = wb::read_results(s.out)["trials"][0];
    CHECK(t["status"] == "failed");
    CHECK_THAT(t["reason"].get<std::string>(), Catch::Contains("signal 6"));
  }
  {
    const auto r = test::run(s.cmd({"--set", "behaviour=fail", "--mode", "async"}));
    CHECK(r.code() == 1);
    const auto t = wb::read_results(s.out)["trials"][0];
    CHECK(t["status"] == "failed");
    CHECK(t["reason"] == "told to fail");
    CHECK(t["exit"] == 1);
  }
}

TEST_CASE("a record the runner cannot trust is a failed trial, and the sweep goes on", "[runner]") {
  // The async trial misbehaves after its record was written; the sync trial beside it is ok.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated", "not JSON"},
      {"not-a-record", "not a trial record"},
      {"exit-3", "wrote an ok record, then exit 3"},
      {"abort", "wrote an ok record, then killed by signal 6"},
  };
  for (const auto& [behaviour, reason] : cases) {
    INFO(behaviour);
    Setup s;
    const auto r =
        test::run(s.cmd({"--set", "behaviour=" + behaviour, "--set", "only_variant=async", "--repeat", "2"}));
    CHECK(r.code() == 1);  // not every trial was ok
    const auto trials = wb::read_results(s.out)["trials"];
    REQUIRE(trials.size() == 4);  // the sweep went on past each bad record
    for (const auto& t : trials) {
      INFO(t.dump());
      if (t["variant"] == "sync") {
        CHECK(t["status"] == "ok");
      } else {
        CHECK(t["status"] == "failed");
        CHECK_THAT(t["reason"].get<std::string>(), Catch::Contains(reason));
      }
    }
  }
}

TEST_CASE("a SIGKILLed runner leaves a complete, valid results file", "[runner]") {
  Setup s;
  std::atomic<int> runner_pid{0};
  wb::ProcessResult result;
  std::jthread runner([&] {
    wb::ProcessSpec spec;
    spec.argv = s.cmd({"--set", "behaviour=hang", "--set", "only_variant=async", "--trial-timeout", "60"});
    spec.stdout_path = s.dir.file("out.txt");
    spec.stderr_path = s.dir.file("err.txt");
    spec.timeout = std::chrono::seconds(120);
    spec.on_start = [&](int pid) { runner_pid = pid; };
    result = wb::run_process(spec);
  });
  // The sync trial finishes and is written; the async one hangs.  Kill the runner then.
  REQUIRE(wait_for_trials(s.out, 1, std::chrono::seconds(60)));
  REQUIRE(runner_pid > 0);
  ::kill(runner_pid, SIGKILL);
  runner.join();
  CHECK(result.signal == SIGKILL);
  const auto doc = wb::read_results(s.out);  // throws if truncated or invalid
  CHECK(doc["trials"].size() == 1);
  CHECK(doc["trials"][0]["status"] == "ok");
  // The journal beside it holds every finished trial; recover rebuilds the file from it.
  CHECK(std::filesystem::exists(s.out + ".journal"));
  const auto w = test::exe_from_env("WB_WORKBENCH");
  const auto recovered = test::run({w, "recover", s.out});
  INFO(recovered.err);
  CHECK(recovered.code() == 0);
  CHECK(wb::read_results(s.out)["trials"].size() == 1);
  CHECK(test::run({w, "recover", s.dir.file("nothing.json")}).code() == 2);

  // What recover is for: OUT gone or corrupt, the journal's last line cut off by the kill.
  const std::string journal = wb::read_text_file(s.out + ".journal");
  const auto recover_with = [&](const std::string& journal_text, bool corrupt_out) {
    std::ofstream(s.out + ".journal", std::ios::trunc) << journal_text;
    if (corrupt_out)
      std::ofstream(s.out, std::ios::trunc) << "{\"schema\": \"workbench.results/1\", \"tri";
    else
      std::filesystem::remove(s.out);
    return test::run({w, "recover", s.out});
  };
  for (const bool corrupt : {false, true}) {
    INFO((corrupt ? "corrupt OUT" : "no OUT"));
    const auto r = recover_with(journal, corrupt);
    CHECK(r.code() == 0);
    CHECK_THAT(r.err, Catch::Contains("rebuilt with 1 trials"));
    CHECK(wb::read_results(s.out)["trials"].size() == 1);
  }
  {
    const auto r = recover_with(journal + "{\"chapter\": \"fake\", \"variant\": \"as", false);
    CHECK(r.code() == 0);
    CHECK_THAT(r.err, Catch::Contains("rebuilt with 1 trials") && Catch::Contains("1 line(s) dropped"));
    CHECK(wb::read_results(s.out)["trials"].size() == 1);
  }
  for (const std::string header : {"not json at all", "[1, 2]"}) {
    INFO(header);
    const auto r = recover_with(header + "\n" + journal.substr(journal.find('\n') + 1), false);
    CHECK(r.code() == 2);
    CHECK_THAT(r.err, Catch::Contains(".journal") && Catch::Contains("not a results header"));
  }
}

TEST_CASE("a finished run leaves one results file, a trial a line, and no journal", "[runner]") {
  Setup s;
  REQUIRE(test::run(s.cmd({"--set", "ops=50", "--repeat", "3", "--summary", "none"})).code() == 0);
  CHECK_FALSE(std::filesystem::exists(s.out + ".journal"));
  const auto text = wb::read_text_file(s.out);
  const auto doc = wb::read_results(s.out);
  REQUIRE(doc["trials"].size() == 6);
  // Each trial, histogram and all, on one line of its own.
  std::size_t trial_lines = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) trial_lines += line.rfind("  {\"chapter\"", 0) == 0;
  CHECK(trial_lines == 6);
}

TEST_CASE("Ctrl-C ends the current trial and keeps the finished ones in a valid file", "[runner]") {
  Setup s;
  std::atomic<int> runner_pid{0};
  wb::ProcessResult result;
  std::jthread runner([&] {
    wb::ProcessSpec spec;
    spec.argv = s.cmd({"--set", "behaviour=hang", "--set", "only_variant=async", "--trial-timeout", "60"});
    spec.stdout_path = s.dir.file("out.txt");
    spec.stderr_path = s.dir.file("err.txt");
    spec.timeout = std::chrono::seconds(120);
    spec.on_start = [&](int pid) { runner_pid = pid; };
    result = wb::run_process(spec);
  });
  REQUIRE(wait_for_trials(s.out, 1, std::chrono::seconds(60)));
  ::kill(runner_pid, SIGINT);
  runner.join();
  CHECK(result.exit_code == 130);
  const auto doc = wb::read_results(s.out);
  CHECK(doc["trials"].size() == 1);
  CHECK_THAT(wb::read_text_file(s.dir.file("err.txt")), Catch::Contains("interrupted"));
}

TEST_CASE("a typo in a parameter or a value out of range stops the run before it starts", "[runner]") {
  Setup s;
  {
    const auto r = test::run(s.cmd({"--set", "opz=3"}));
    CHECK(r.code() == 2);
    CHECK_THAT(r.err, Catch::Contains("opz") && Catch::Contains("ops"));
  }
  {
    const auto r = test::run(s.cmd({"--sweep", "ops=1,-4"}));
    CHECK(r.code() == 2);
    CHECK_THAT(r.err, Catch::Contains("--ops"));
  }
  {
    const auto r = test::run({s.workbench, "--manifest", s.manifest, "run", "nosuch"});
    CHECK(r.code() == 2);
    CHECK_THAT(r.err, Catch::Contains("nosuch") && Catch::Contains("fake"));
  }
  CHECK_FALSE(std::ifstream(s.out).good());  // nothing was written
}

TEST_CASE("list and describe read the chapters from the manifest", "[runner]") {
  Setup s;
  const auto l = test::run({s.workbench, "--manifest", s.manifest, "list"});
  CHECK(l.code() == 0);
  CHECK_THAT(l.out, Catch::Contains("fake"));
  const auto d = test::run({s.workbench, "--manifest", s.manifest, "describe", "fake"});
  CHECK(d.code() == 0);
  CHECK(json::parse(d.out)["name"] == "fake");
}

// ---------------------------------------------------------------------------------------------
// check, compare, export, merge: the exit codes CI relies on, on the hand-made fixtures.

namespace {

std::string fixture(const std::string& name) { return test::exe_from_env("WB_FIXTURES") + "/" + name; }

}  // namespace

TEST_CASE("a run records each chapter's description and the latency histogram", "[runner]") {
  Setup s;
  REQUIRE(test::run(s.cmd({"--set", "ops=20"})).code() == 0);
  const auto doc = wb::read_results(s.out);
  CHECK(doc["chapters"]["fake"]["name"] == "fake");
  CHECK(doc["chapters"]["fake"].contains("options"));
  const auto& h = doc["trials"][0]["metrics"]["latency_us"]["histogram"];
  REQUIRE(h.is_array());
  std::uint64_t total = 0;
  for (const auto& b : h) total += b[2].get<std::uint64_t>();
  CHECK(total == 20);
}

TEST_CASE("check exits 0 when every expectation holds, 1 when one fails, 3 when trials are missing", "[runner]") {
  const auto w = test::exe_from_env("WB_WORKBENCH");
  const auto ok = test::run({w, "check", fixture("base.json")});
  CHECK(ok.code() == 0);
  CHECK(ok.out.find("3 pass, 0 fail, 0 missing") != std::string::npos);
  CHECK(ok.out.find("never an exit code): 1 holds") != std::string::npos);

  const auto broken = test::run({w, "check", fixture("broken.json")});
  CHECK(broken.code() == 1);
  CHECK(broken.out.find("FAIL demo/few-threads") != std::string::npos);

  wb::TempDir tmp("wb-check");
  const auto incomplete = test::run({w, "check", fixture("incomplete.json"), "--json", tmp.file("v.json")});
  CHECK(incomplete.code() == 3);
  CHECK(incomplete.out.find("needs n=1000") != std::string::npos);
  const auto verdicts = json::parse(wb::read_text_file(tmp.file("v.json")));
  CHECK(verdicts["exit"] == 3);
  CHECK(verdicts["verdicts"].size() == 3);
}

TEST_CASE("a results file of another schema version is refused with a clear message", "[runner]") {
  const auto w = test::exe_from_env("WB_WORKBENCH");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{w, "check", fixture("foreign.json")},
        std::vector<std::string>{w, "compare", fixture("base.json"), fixture("foreign.json")},
        std::vector<std::string>{w, "export", fixture("foreign.json")},
        std::vector<std::string>{w, "merge", fixture("base.json"), fixture("foreign.json"), "-o", "/dev/null"}}) {
    const auto r = test::run(args);
    CHECK(r.code() == 2);
    CHECK(r.err.find("workbench.results/2") != std::string::npos);
    CHECK(r.err.find("reads workbench.results/1") != std::string::npos);
  }
  const auto missing = test::run({w, "check", "/nonexistent/results.json"});
  CHECK(missing.code() == 2);
  CHECK(missing.err.find("cannot open") != std::string::npos);
}

TEST_CASE("compare --fail-on-regression exits 1 on a real regression and 0 on noise", "[runner]") {
  const auto w = test::exe_from_env("WB_WORKBENCH");
  const auto noise = test::run({w, "compare", fixture("base.json"), fixture("noise.json"), "--fail-on-regression"});
  CHECK(noise.code() == 0);
  CHECK(noise.out.find("0 worse") != std::string::npos);

  wb::TempDir tmp("wb-compare");
  const auto worse = test::run({w, "compare", fixture("base.json"), fixture("regression.json"), "--fail-on-regression",
                                "--changed-only", "--json", tmp.file("diff.json")});
  CHECK(worse.code() == 1);
  CHECK(worse.out.find("WORSE") != std::string::npos);
  const auto diff = json::parse(wb::read_text_file(tmp.file("diff.json")));
  CHECK(diff["regression"] == true);

  // Without the flag a regression is reported but the exit code stays 0 (compare.py's habit).
  CHECK(test::run({w, "compare", fixture("base.json"), fixture("regression.json")}).code() == 0);
  // Three repetitions a side: the output says why the rank test is not used.
  const auto small = test::run({w, "compare", fixture("broken.json"), fixture("other-host.json")});
  CHECK(small.out.find("too few repetitions for the rank test") != std::string::npos);
}

TEST_CASE("export writes Google Benchmark JSON and merge keeps the hosts apart", "[runner]") {
  const auto w = test::exe_from_env("WB_WORKBENCH");
  wb::TempDir tmp("wb-interop");
  REQUIRE(test::run({w, "export", "--format", "gbench", fixture("base.json"), "-o", tmp.file("g.json")}).code() == 0);
  const auto g = json::parse(wb::read_text_file(tmp.file("g.json")));
  CHECK(g["benchmarks"].size() > 0);
  CHECK(g["benchmarks"][0].contains("real_time"));

  REQUIRE(
      test::run({w, "merge", fixture("base.json"), fixture("other-host.json"), "-o", tmp.file("class.json")}).code() ==
      0);
  const auto merged = wb::read_results(tmp.file("class.json"));
  CHECK(merged["sources"].size() == 2);
  CHECK(test::run({w, "check", tmp.file("class.json")}).code() == 0);
}

TEST_CASE("claims prints a verdict per claim with its evidence and never fails, whatever the verdicts", "[runner]") {
  const auto w = test::exe_from_env("WB_WORKBENCH");
  wb::TempDir tmp("wb-claims");
  // broken.json fails an invariant; the ledger still exits 0 and shows it as "does not hold".
  const auto r = test::run({w, "claims", fixture("broken.json"), "--json", tmp.file("ledger.json")});
  INFO(r.out << r.err);
  CHECK(r.code() == 0);
  CHECK_THAT(r.out, Catch::Contains("C2   holds"));
  CHECK_THAT(r.out, Catch::Contains("C6   DOES NOT HOLD"));
  // A run of one chapter: the claims no chapter of it measures, in one line.
  CHECK_THAT(r.out, Catch::Contains("not measured: no chapter in this run measures C1 C4 C5 C7 C8 "));
  CHECK_THAT(r.out, !Catch::Contains("C8   not measured"));
  CHECK_THAT(r.out, Catch::Contains("30 claims of the source analysis, on this machine:"));
  const auto ledger = json::parse(wb::read_text_file(tmp.file("ledger.json")))["ledger"];
  CHECK(ledger["claims"].size() == 30);

  // Against a baseline: the same host's flip fails with --fail-on-change; another host's does not.
  const auto flip =
      test::run({w, "claims", fixture("broken.json"), "--baseline", fixture("base.json"), "--fail-on-change"});
  CHECK(flip.code() == 1);
  CHECK_THAT(flip.out, Catch::Contains("FLIPPED on the same host"));
  CHECK(test::run({w, "claims", fixture("broken.json"), "--baseline", fixture("base.json")}).code() == 0);
  const auto other =
      test::run({w, "claims", fixture("other-host.json"), "--baseline", fixture("broken.json"), "--fail-on-change"});
  CHECK(other.code() == 0);
  CHECK_THAT(other.out, Catch::Contains("differs on another host"));
  CHECK(test::run({w, "claims", fixture("base.json"), "--fail-on-change"}).code() == 2);
  CHECK(test::run({w, "claims"}).code() == 2);
}

TEST_CASE("a run's results file carries the claims ledger of its own trials", "[runner]") {
  Setup s;
  REQUIRE(test::run(s.cmd({"--set", "ops=5", "--summary", "none"})).code() == 0);
  const auto doc = wb::read_results(s.out);
  REQUIRE(doc.contains("claims"));
  CHECK(doc["claims"]["claims"].size() == 30);
  CHECK(doc["claims"]["summary"]["not measured"] == 30);  // the fake chapter declares nothing
}

TEST_CASE("CLAIMS.md is what `workbench claims --catalog` makes of the catalog and the chapters", "[runner]") {
  const auto r = test::run({test::exe_from_env("WB_WORKBENCH"), "claims", "--catalog"});
  REQUIRE(r.code() == 0);
  INFO("regenerate it: build/runners/workbench claims --catalog > CLAIMS.md");
  CHECK(r.out == wb::read_text_file(test::exe_from_env("WB_CLAIMS_PAGE")));
}

TEST_CASE("every chapter's declarations have a kind and name a claim of the catalog", "[runner]") {
  const auto w = test::exe_from_env("WB_WORKBENCH");
  const auto catalog = json::parse(wb::read_text_file(test::exe_from_env("WB_CLAIMS")));
  std::set<std::string> ids;
  for (const auto& c : catalog["claims"]) ids.insert(c["id"].get<std::string>());
  const auto list = test::run({w, "list"});
  REQUIRE(list.code() == 0);
  std::istringstream lines(list.out);
  int chapters = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto name = line.substr(0, line.find(' '));
    const auto d = test::run({w, "describe", name});
    REQUIRE(d.code() == 0);
    const auto desc = json::parse(d.out);
    ++chapters;
    for (const auto& c : desc["claims"]) CHECK(ids.count(c.get<std::string>()) == 1);
    for (const auto& e : desc["expectations"]) {
      INFO(name << "/" << e["id"]);
      CHECK((e["kind"] == "invariant" || e["kind"] == "claim"));
      CHECK(ids.count(e["claim"].get<std::string>()) == 1);
    }
  }
  // Every chapters/NN-name folder is in the manifest: a chapter left out of the build is caught.
  int folders = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::exe_from_env("WB_CHAPTERS_DIR"))) {
    const auto name = entry.path().filename().string();
    folders += entry.is_directory() && name.size() > 3 && std::isdigit(static_cast<unsigned char>(name[0])) &&
               std::isdigit(static_cast<unsigned char>(name[1])) && name[2] == '-';
  }
  CHECK(folders > 0);
  CHECK(chapters == folders);
}
