// Behaviour of chapter 04 (graceful shutdown): real signals, sent from outside and from inside.
#include <csignal>
#include <thread>

#include <catch2/catch.hpp>

#include "common/files.hpp"
#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_SHUTDOWN"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// Runs one variant that waits for signals from outside, and sends it `signals` SIGTERMs once its
// narration says `busy` (we poll its stderr for that, bounded).
json run_and_signal(const std::string& mode, int signals, std::vector<std::string> extra = {},
                    const char* busy = "begin job") {
  wb::TempDir dir("wb-shutdown-test");
  std::atomic<int> pid{0};
  wb::ProcessResult result;
  std::jthread service([&] {
    wb::ProcessSpec spec;
    spec.argv = {exe(), "--mode", mode, "--shutdown-after-ms", "0", "--narrate", "--json", dir.file("out.json")};
    spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
    spec.stdout_path = dir.file("stdout");
    spec.stderr_path = dir.file("stderr");
    spec.timeout = std::chrono::seconds(60);
    spec.on_start = [&](int p) { pid = p; };
    result = wb::run_process(spec);
  });
  // Waits (bounded) until the service's narration says `text`.
  auto wait_for = [&](const char* text) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      if (wb::read_text_file(dir.file("stderr")).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  };
  const bool is_busy = wait_for(busy);
  if (is_busy) {
    ::kill(pid, SIGTERM);
    // Two signals sent at once merge into one pending signal (POSIX does not queue them): send
    // the second once the service has taken the first, as a second Ctrl-C would be.
    if (signals > 1 && wait_for("stop accepting")) ::kill(pid, SIGTERM);
  } else {
    ::kill(pid, SIGKILL);
  }
  service.join();
  REQUIRE(is_busy);
  INFO(wb::read_text_file(dir.file("stderr")).substr(0, 2000));
  CHECK(result.exit_code == 0);
  CHECK_FALSE(result.timed_out);
  const auto recs = test::json_lines(wb::read_text_file(dir.file("out.json")));
  REQUIRE(recs.size() == 1);
  return recs[0];
}

}  // namespace

TEST_CASE("SIGTERM from outside: the service drains, loses nothing and exits 0", "[shutdown]") {
  for (const char* mode : {"sync", "async"}) {
    INFO(mode);
    // Signalled once job 8 has begun, so several jobs are done and several in flight or queued:
    // every one of them must be counted as completed.
    const auto r = run_and_signal(mode, 1, {"--drain-ms", "10000"}, "begin job 8");
    CHECK(r["status"] == "ok");
    CHECK(counter(r, "signals") == 1);
    CHECK(counter(r, "accepted") >= 9);
    CHECK(counter(r, "lost") == 0);
    CHECK(counter(r, "aborted") == 0);  // a generous drain: every accepted job completes
    CHECK(counter(r, "completed") == counter(r, "accepted"));
  }
}

TEST_CASE("a second quick signal aborts the jobs in flight, and still none is lost", "[shutdown]") {
  for (const char* mode : {"sync", "async"}) {
    INFO(mode);
    const auto r = run_and_signal(mode, 2, {"--drain-ms", "10000", "--job-ms", "2000"});
    CHECK(counter(r, "signals") == 2);
    CHECK(counter(r, "aborted") >= 1);
    CHECK(counter(r, "lost") == 0);
    CHECK(counter(r, "signal_to_exit_ms") < 1500);  // did not wait for the 2 s jobs
  }
}

TEST_CASE("the drain deadline aborts what is left; the self-sent signal works unattended", "[shutdown]") {
  const auto r = test::run({exe(), "--shutdown-after-ms", "150", "--drain-ms", "50", "--job-ms", "300", "--json", "-"});
  INFO(r.err);
  REQUIRE(r.code() == 0);
  const auto recs = test::json_lines(r.out);
  REQUIRE(recs.size() == 2);
  for (const auto& rec : recs) {
    INFO(rec["variant"]);
    CHECK(counter(rec, "signals") == 1);
    CHECK(counter(rec, "drain_overrun") == 1);
    CHECK(counter(rec, "aborted") >= 1);
    CHECK(counter(rec, "lost") == 0);
  }
}

TEST_CASE("shutdown: bad input exits 2 naming the option", "[shutdown]") {
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--workers", "0"}, "--workers"},
                                       {{"--drain-ms", "-5"}, "--drain-ms"},
                                       {{"--queue-capacity", "0"}, "--queue-capacity"},
                                   });
}
