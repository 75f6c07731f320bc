// Behaviour of chapter 13 (shared state): every way of sharing gives the same final state and
// conserves the total; who waits for a lock follows from who shares it; the pitfall deadlocks
// and the watchdog says so without hanging.  How fast each way is belongs to the claims.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_SHARED_STATE"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// The seven variants, in the chapter's order: mutex, atomic, sharded, strand, actor, async-mutex,
// channel-lock.
std::vector<json> run_all(std::vector<std::string> args) {
  args.insert(args.end(), {"--tasks", "4", "--ops", "2000"});
  return test::run_records(exe(), args, 7);
}

}  // namespace

TEST_CASE("every way of sharing state ends in the same balances and conserves the total", "[shared-state]") {
  for (const char* state : {"counter", "accounts"}) {
    for (const char* contention : {"shared", "private"}) {
      for (const char* threads : {"1", "2"}) {
        const auto recs = run_all({"--state", state, "--contention", contention, "--threads", threads});
        INFO(state << " " << contention << " threads " << threads);
        for (const auto& r : recs) {
          INFO(r["variant"] << " " << r["counters"].dump());
          CHECK(r["result_digest"] == recs[0]["result_digest"]);
          CHECK(counter(r, "total_error") == 0);
          CHECK(r["metrics"]["ops"] == 4 * 2000);
        }
        // Lock-free by construction: an atomic and a strand never wait for a lock.
        CHECK(counter(recs[1], "lock_waits") == 0);
        CHECK(counter(recs[3], "lock_waits") == 0);
        // A lock nobody else takes is never found taken: private slices, or one thread that
        // takes and releases without suspending in between.
        if (std::string(contention) == "private" || std::string(threads) == "1") {
          CHECK(counter(recs[0], "lock_waits") == 0);
          CHECK(counter(recs[5], "lock_waits") == 0);
          CHECK(counter(recs[6], "lock_waits") == 0);
        }
      }
    }
  }
}

TEST_CASE("a std::mutex held across a co_await on one thread deadlocks; the watchdog reports it and ends",
          "[shared-state]") {
  const auto r = test::run(
      {exe(), "--pitfall", "on", "--threads", "1", "--watchdog-ms", "300", "--mode", "mutex", "--json", "-"}, 30);
  CHECK(r.code() == 0);  // a deadlock caught is the scenario's finding, not a failed run
  CHECK_THAT(r.err, Catch::Contains("deadlock: 0 of 40 updates made"));
  CHECK_THAT(r.err, Catch::Contains("task 1: mutex.lock()"));  // the second task blocked the thread
  const auto recs = test::json_lines(r.out);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["counters"]["deadlocked"] == 1);
  CHECK(recs[0]["counters"]["updates_made"] == 0);
}

TEST_CASE("held across the same wait, an async lock, a strand, an actor and an atomic finish every update",
          "[shared-state]") {
  const auto recs = test::run_records(
      exe(), {"--pitfall", "on", "--threads", "1", "--mode", "atomic,strand,actor,async-mutex,channel-lock"}, 5);
  for (const auto& r : recs) {
    INFO(r["variant"] << ": " << r["counters"].dump());
    CHECK(r["counters"]["deadlocked"] == 0);
    CHECK(r["counters"]["updates_made"] == 40);
    CHECK(r["result_digest"] == recs[0]["result_digest"]);  // the plan they all ran
  }
}

TEST_CASE("shared-state: one variant or a list runs; bad input exits 2 naming the option", "[shared-state]") {
  const auto one = test::run_records(exe(), {"--mode", "actor,atomic", "--ops", "100"}, 2);
  CHECK(one[0]["variant"] == "atomic");
  CHECK(one[1]["variant"] == "actor");
  test::expect_usage_errors(exe(),
                            test::UsageCases{
                                {{"--mode", "spinlock"}, "--mode"},
                                {{"--state", "map"}, "--state"},
                                {{"--contention", "some"}, "--contention"},
                                {{"--threads", "0"}, "--threads"},
                                {{"--pitfall", "yes"}, "--pitfall"},
                                {{"--state", "accounts", "--contention", "private", "--accounts", "4"}, "--accounts"},
                            });
}
