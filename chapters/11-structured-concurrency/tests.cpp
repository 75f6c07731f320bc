// Behaviour of chapter 11 (structured concurrency): scoped helpers end with their handler,
// detached ones run on.  The margins are the schedule's: a speculative helper's calls last
// 5 × 50 ms while the needed answer comes after 5 ms, so a detached helper is still calling
// long after its handler returned, however slow the build.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_STRUCTURED_CONCURRENCY"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// The four variants, in the chapter's order: sync-detached, sync-scoped, async-detached, async-scoped.
std::vector<json> run_all(std::vector<std::string> args) { return test::run_records(exe(), std::move(args), 4); }

}  // namespace

TEST_CASE("scoped helpers end before their handler returns; detached ones call on for nobody",
          "[structured-concurrency]") {
  const auto recs = run_all({"--requests", "3", "--needed-ms", "5", "--call-ms", "50", "--spec-calls", "5"});
  for (const auto& r : recs) {
    INFO(r["variant"] << " " << r["counters"].dump());
    CHECK(r["result_digest"] == recs[0]["result_digest"]);
    CHECK(counter(r, "answered") == 3);
  }
  for (const auto* scoped : {&recs[1], &recs[3]}) {
    INFO((*scoped)["variant"] << " " << (*scoped)["counters"].dump());
    CHECK(counter(*scoped, "running_at_return") == 0);
    CHECK(counter(*scoped, "late_calls") == 0);
    CHECK(counter(*scoped, "alive_at_exit") == 0);
  }
  for (const auto* detached : {&recs[0], &recs[2]}) {
    INFO((*detached)["variant"] << " " << (*detached)["counters"].dump());
    CHECK(counter(*detached, "running_at_return") >= 2 * 3);  // both speculative helpers of every request
    CHECK(counter(*detached, "late_calls") >= 3 * 2 * 3);     // each makes at least 3 of its 5 calls late
    CHECK(counter(*detached, "calls") == 3 * (1 + 2 * 5));    // every call of every helper was made
    CHECK(counter(*detached, "alive_at_exit") >= 1);          // the last request's scope, at least
  }
  CHECK(recs[0]["metrics"]["peak_threads"] >= 3);  // a thread per helper
  CHECK(recs[2]["metrics"]["peak_threads"] == 1);
  CHECK(recs[3]["metrics"]["peak_threads"] == 1);
}

TEST_CASE("at the deadline a scoped handler cancels its helpers; nothing is answered", "[structured-concurrency]") {
  const auto recs = run_all(
      {"--requests", "2", "--needed-ms", "600", "--deadline-ms", "20", "--call-ms", "30", "--spec-calls", "20"});
  for (const auto& r : recs) {
    INFO(r["variant"] << " " << r["counters"].dump());
    CHECK(r["result_digest"] == recs[0]["result_digest"]);
    CHECK(counter(r, "answered") == 0);
  }
  CHECK(counter(recs[1], "late_calls") == 0);
  CHECK(counter(recs[3], "late_calls") == 0);
  CHECK(counter(recs[0], "late_calls") > 0);
  CHECK(counter(recs[2], "late_calls") > 0);
}

TEST_CASE("structured-concurrency: bad input exits 2 naming the option", "[structured-concurrency]") {
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--mode", "async"}, "--mode"},
                                       {{"--requests", "0"}, "--requests"},
                                       {{"--call-ms", "0"}, "--call-ms"},
                                   });
}

// Exercise 2's solution, at its settings: no helper can answer within the deadline (the needed
// one takes 100 ms, a speculative one 5 × 10 ms; timers do not fire early), so every helper of
// every request is running when its handler returns.
TEST_CASE(
    "exercise 2: at a deadline nothing meets, scoped helpers all end with their handler and detached ones all "
    "run on",
    "[structured-concurrency][solution]") {
  const auto recs = run_all({"--deadline-ms", "20", "--needed-ms", "100", "--requests", "4"});
  for (const auto& r : recs) {
    INFO(r["variant"] << " " << r["counters"].dump());
    CHECK(counter(r, "answered") == 0);
  }
  for (const auto* scoped : {&recs[1], &recs[3]}) {
    CHECK(counter(*scoped, "late_calls") == 0);
    CHECK(counter(*scoped, "running_at_return") == 0);
  }
  for (const auto* detached : {&recs[0], &recs[2]}) {
    CHECK(counter(*detached, "running_at_return") == 3 * 4);  // all three helpers of every request
    CHECK(counter(*detached, "late_calls") > 0);
  }
}
