// Behaviour of chapter 02 (fan-out/fan-in) against a real loopback backend it starts itself.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_FAN_OUT"); }

std::vector<json> run_both(std::vector<std::string> args, int expect_code = 0) {
  args.insert(args.begin(), exe());
  args.push_back("--json");
  args.push_back("-");
  const auto r = test::run(args);
  INFO(r.err);
  REQUIRE(r.code() == expect_code);
  auto recs = test::json_lines(r.out);
  REQUIRE(recs.size() == 2);
  return recs;
}

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

}  // namespace

TEST_CASE("both variants fan in the same answers to the same digest, failures included", "[fan-out]") {
  const auto recs =
      run_both({"--tasks", "60", "--delay-ms", "5", "--jitter-ms", "5", "--fail-rate", "0.2", "--bytes", "100"});
  for (const auto& r : recs) {
    INFO(r.dump());
    CHECK(r["status"] == "ok");
    CHECK(counter(r, "calls_failed") > 0);
    CHECK(counter(r, "calls_ok") + counter(r, "calls_failed") == 60);
    CHECK(counter(r, "calls_cancelled") == 0);
    CHECK(r["metrics"]["latency_us"]["count"] == counter(r, "calls_ok"));
  }
  CHECK(recs[0]["result_digest"] == recs[1]["result_digest"]);
  CHECK(counter(recs[0], "calls_failed") == counter(recs[1], "calls_failed"));  // --seed decides which
}

TEST_CASE("collect-all waits for every call; fail-fast returns at the first failure and cancels the rest",
          "[fan-out]") {
  // Failing calls fail at once; good ones take 3 s.
  const std::vector<std::string> common = {"--tasks",     "30", "--delay-ms",  "3000",
                                           "--jitter-ms", "0",  "--fail-rate", "0.2"};
  auto with = [&](const char* policy) {
    auto a = common;
    a.push_back("--policy");
    a.push_back(policy);
    return run_both(a);
  };
  for (const auto& r : with("fail-fast")) {
    INFO(r["variant"]);
    CHECK(counter(r, "calls_failed") >= 1);
    CHECK(counter(r, "calls_cancelled") >= 1);
    CHECK(counter(r, "calls_ok") == 0);
    CHECK(counter(r, "calls_ok") + counter(r, "calls_failed") + counter(r, "calls_cancelled") == 30);
    CHECK(counter(r, "fan_in_ms") < 2000);  // did not wait for the 3 s calls
  }
  for (const auto& r : with("collect-all")) {
    INFO(r["variant"]);
    CHECK(counter(r, "calls_ok") >= 1);
    CHECK(counter(r, "calls_cancelled") == 0);
    CHECK(counter(r, "fan_in_ms") >= 3000);  // waited for every call, failed ones notwithstanding
  }
}

TEST_CASE("a thread per call in sync, one thread for every call in async", "[fan-out]") {
  // The backend answers none of the 100 calls before all 100 have arrived, so every call is in
  // flight at once however slowly the threads start (TSan starts them ~10x slower).
  const auto recs = run_both({"--tasks", "100", "--delay-ms", "20", "--jitter-ms", "0", "--gather-calls", "100"});
  CHECK(recs[0]["metrics"]["peak_threads"] >= 101);
  CHECK(recs[1]["metrics"]["peak_threads"] == 1);
  CHECK(counter(recs[0], "peak_in_flight") == 100);
  CHECK(counter(recs[1], "peak_in_flight") == 100);
  CHECK(counter(recs[0], "kernel_thread_kib") >= 101 * 16);
}

TEST_CASE("a finished thread holds its memory until it is joined", "[fan-out]") {
  // 400 short calls, 40 at a time (gathered, so 40 threads certainly coexist).  Joined as they
  // finish, at most the threads of calls in flight (plus a few not yet reaped) are unjoined;
  // kept until the fan-in, all 400 are.
  const std::vector<std::string> common = {"--mode",      "sync", "--tasks",         "400", "--delay-ms",     "5",
                                           "--jitter-ms", "0",    "--max-in-flight", "40",  "--gather-calls", "40"};
  auto run_sync = [&](const char* join) {
    auto args = common;
    args.insert(args.end(), {"--join-threads", join});
    args.insert(args.begin(), exe());
    args.insert(args.end(), {"--json", "-"});
    const auto r = test::run(args);
    INFO(r.err);
    REQUIRE(r.code() == 0);
    return test::json_lines(r.out).at(0);
  };
  const auto at_end = run_sync("at-the-end");
  const auto early = run_sync("as-they-finish");
  CHECK(counter(at_end, "peak_unjoined_threads") == 400);
  CHECK(counter(early, "peak_unjoined_threads") < 400);
  CHECK(counter(at_end, "calls_ok") == 400);
  CHECK(counter(early, "calls_ok") == 400);
}

TEST_CASE("--max-in-flight bounds the calls running at once in both variants", "[fan-out]") {
  // Gathered in fives: five calls are certainly in flight together, and never more.
  const auto recs = run_both(
      {"--tasks", "40", "--delay-ms", "250", "--jitter-ms", "0", "--max-in-flight", "5", "--gather-calls", "5"});
  for (const auto& r : recs) {
    INFO(r["variant"]);
    CHECK(counter(r, "peak_in_flight") == 5);
    CHECK(counter(r, "calls_ok") == 40);
  }
  // The blocking variant still made a thread per call (they wait on the semaphore); at least
  // the five in flight and the main thread coexisted.
  CHECK(recs[0]["metrics"]["peak_threads"] >= 6);
  CHECK(recs[1]["metrics"]["peak_threads"] == 1);
  // 40 calls of 250 ms, 5 at a time: at least 8 rounds.
  CHECK(counter(recs[0], "fan_in_ms") >= 2000);
  CHECK(counter(recs[1], "fan_in_ms") >= 2000);
}

TEST_CASE("--gather-calls that could never complete is refused before the run", "[fan-out]") {
  test::expect_usage_errors(exe(),
                            test::UsageCases{
                                {{"--tasks", "10", "--gather-calls", "20"}, "--gather-calls"},
                                {{"--tasks", "10", "--gather-calls", "3"}, "--gather-calls"},
                                {{"--tasks", "10", "--gather-calls", "10", "--max-in-flight", "5"}, "--gather-calls"},
                            });
}

TEST_CASE("an unreachable backend makes every call fail, cleanly", "[fan-out]") {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  const auto recs = run_both({"--tasks", "5", "--backend", "127.0.0.1:1"});
  for (const auto& r : recs) {
    CHECK(r["status"] == "ok");
    CHECK(counter(r, "calls_failed") == 5);
  }
}

TEST_CASE("fan-out: bad input exits 2 naming the option", "[fan-out]") {
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--tasks", "0"}, "--tasks"},
                                       {{"--fail-rate", "1.5"}, "--fail-rate"},
                                       {{"--policy", "some"}, "--policy"},
                                       {{"--backend", "localhost"}, "--backend"},
                                       {{"--backend", "127.0.0.1:99999"}, "--backend"},
                                   });
}
