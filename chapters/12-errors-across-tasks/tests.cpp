// Behaviour of chapter 12 (errors across tasks): where each variant's failures surface.  The
// schedule gives the margins: a failing child fails after 2 × 50 ms, the others complete after
// 5 × 50 ms, so a parent that waits for all sees a failure at least 150 ms late, and a process
// that aborts at the failure has no child completed — however slow the build.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_ERRORS_ACROSS_TASKS"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// The eight variants, in the chapter's order.
enum { kTerminate, kFuture, kJthread, kDetached, kRethrow, kHandler, kGroup, kTuple };
std::vector<json> run_all(std::vector<std::string> args) {
  args.insert(args.end(), {"--step-ms", "50"});
  return test::run_records(exe(), std::move(args), 8);
}

}  // namespace

TEST_CASE("a thrown failure: rethrown at the join, handed to a handler, dropped, or fatal", "[errors-across-tasks]") {
  const auto recs = run_all({"--failure-kind", "exception"});
  for (const auto& r : recs) INFO(r["variant"] << " " << r["counters"].dump() << " " << r["info"].dump());
  // std::thread: std::terminate took the process before any child completed.
  CHECK_THAT(recs[kTerminate]["info"]["child_process"].get<std::string>(), Catch::Contains("signal 6"));
  CHECK(counter(recs[kTerminate], "completed") == 0);
  CHECK(counter(recs[kTerminate], "failures_observed") == 0);
  CHECK(counter(recs[kTerminate], "collateral") >= 4);
  // The joining variants see each failure exactly once, and the healthy children complete.
  for (const int v : {kFuture, kJthread, kHandler, kGroup, kTuple}) {
    INFO(recs[v]["variant"] << " " << recs[v]["counters"].dump());
    CHECK(counter(recs[v], "failures_injected") == 2);
    CHECK(counter(recs[v], "failures_observed") == 2);
    CHECK(counter(recs[v], "failures_unaccounted") == 0);
    CHECK(counter(recs[v], "completed") == 4);
    CHECK(counter(recs[v], "collateral") == 0);
  }
  // Seen only when the parent gets there: get() waits for child 0 first; the group for all.
  CHECK(counter(recs[kFuture], "notice_ms_max") >= 75);
  CHECK(counter(recs[kGroup], "notice_ms_max") >= 75);
  CHECK_THAT(recs[kTuple]["info"]["observed_where"].get<std::string>(), Catch::Contains("an error value"));
  // detached: nothing seen, nothing stopped.
  CHECK(counter(recs[kDetached], "failures_observed") == 0);
  CHECK(counter(recs[kDetached], "failures_unaccounted") == 2);
  CHECK(counter(recs[kDetached], "completed") == 4);
  // A rethrowing handler: out of io_context::run() at the first failure; the rest never finish.
  CHECK(counter(recs[kRethrow], "failures_observed") == 1);
  CHECK(counter(recs[kRethrow], "completed") == 0);
  CHECK(counter(recs[kRethrow], "collateral") >= 4);
  CHECK_THAT(recs[kRethrow]["info"]["observed_where"].get<std::string>(), Catch::Contains("io_context::run()"));
}

TEST_CASE("an error value: every joining parent reads it; detached and a rethrowing handler drop it",
          "[errors-across-tasks]") {
  const auto recs = run_all({"--failure-kind", "error"});
  for (const int v : {kTerminate, kFuture, kJthread, kHandler, kGroup, kTuple}) {
    INFO(recs[v]["variant"] << " " << recs[v]["counters"].dump());
    CHECK(counter(recs[v], "failures_observed") == 2);
    CHECK(counter(recs[v], "completed") == 4);
  }
  CHECK(recs[kTerminate]["info"]["child_process"] == "exit 0");
  for (const int v : {kDetached, kRethrow}) {
    CHECK(counter(recs[v], "failures_observed") == 0);
    CHECK(counter(recs[v], "completed") == 4);
  }
}

TEST_CASE("a transient failure is retried with backoff and never reaches the parent; a permanent one is not retried",
          "[errors-across-tasks]") {
  auto recs = run_all({"--transient-attempts", "2", "--retries", "3", "--backoff-ms", "20"});
  for (const auto& r : recs) {
    INFO(r["variant"] << " " << r["counters"].dump());
    CHECK(counter(r, "failures_injected") == 4);  // two children, two failed attempts each
    CHECK(counter(r, "failures_retried") == 4);
    CHECK(counter(r, "failures_observed") == 0);
    CHECK(counter(r, "completed") == 6);
  }
}

TEST_CASE("errors-across-tasks: retries stop at --retries; bad input exits 2 naming the option",
          "[errors-across-tasks]") {
  const auto recs = test::run_records(exe(),
                                      {"--transient-attempts", "5", "--retries", "2", "--backoff-ms", "1", "--mode",
                                       "async-future,as-tuple", "--step-ms", "5"},
                                      2);
  for (const auto& r : recs) {
    INFO(r["variant"] << " " << r["counters"].dump());
    CHECK(counter(r, "failures_injected") == 2 * 3);  // three attempts each: the first and two retries
    CHECK(counter(r, "failures_retried") == 2 * 2);
    CHECK(counter(r, "failures_observed") == 2);  // the last attempt's failure reaches the parent
  }
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--mode", "async"}, "--mode"},
                                       {{"--failure-kind", "hang"}, "--failure-kind"},
                                       {{"--children", "0"}, "--children"},
                                       {{"--retries", "-1"}, "--retries"},
                                   });
}
