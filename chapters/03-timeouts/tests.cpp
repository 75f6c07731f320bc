// Behaviour of chapter 03 (timeouts): a timeout stops the waiting; does it stop the operation?
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_TIMEOUTS"); }

json run_one(const std::string& mode, std::vector<std::string> args) {
  args.insert(args.begin(), {exe(), "--mode", mode, "--json", "-"});
  const auto r = test::run(args);
  INFO(r.err);
  REQUIRE(r.code() == 0);
  const auto recs = test::json_lines(r.out);
  REQUIRE(recs.size() == 1);
  return recs[0];
}

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// Every call stalls: the backend never answers.
const std::vector<std::string> kAllStall = {"--calls",     "4", "--concurrency", "4",  "--stall-rate", "1",
                                            "--slow-rate", "0", "--deadline-ms", "100"};

std::vector<std::string> with(std::vector<std::string> a, const char* k, const char* v) {
  a.push_back(k);
  a.push_back(v);
  return a;
}

}  // namespace

TEST_CASE("a stalled call times out at its deadline, within a tolerance, in every variant", "[timeouts]") {
  const std::vector<std::pair<std::string, json>> runs = {
      {"sync future", run_one("sync", with(kAllStall, "--sync-timeout", "future"))},
      {"sync socket", run_one("sync", with(kAllStall, "--sync-timeout", "socket"))},
      {"async", run_one("async", kAllStall)},
  };
  for (const auto& [name, r] : runs) {
    INFO(name << ": " << r["counters"].dump());
    CHECK(counter(r, "timeouts") == 4);
    CHECK(counter(r, "calls_ok") == 0);
    // The caller resumes soon after the deadline: generous, so that a loaded machine or a
    // sanitizer build passes; a caller that waited for the stalled call would never resume.
    CHECK(counter(r, "overshoot_p99_ms") < 250);
    CHECK(r["metrics"]["wall_s"].get<double>() < 5);
  }
}

TEST_CASE("asio's timeout and the polled socket leave nothing running; future::wait_for leaves the calls running",
          "[timeouts]") {
  // Each ended operation reports the deadline as a value (operation_aborted, or the socket's
  // timeout) and closes its socket; a future's wait_for ends no operation and closes nothing.
  for (const auto& r : {run_one("async", kAllStall), run_one("sync", with(kAllStall, "--sync-timeout", "socket"))}) {
    INFO(r["variant"] << ": " << r["counters"].dump());
    CHECK(counter(r, "still_running") == 0);
    CHECK(counter(r, "deadline_completions") == 4);
    CHECK(counter(r, "sockets_left_open") == 0);
  }
  const auto future = run_one("sync", with(kAllStall, "--sync-timeout", "future"));
  INFO(future["counters"].dump());
  CHECK(counter(future, "still_running") == 4);           // each stalled call still holds a thread and a socket
  CHECK(future["metrics"]["peak_threads"] >= 4 + 4 + 1);  // workers, abandoned calls, main
  CHECK(counter(future, "deadline_completions") == 0);
  CHECK(counter(future, "sockets_left_open") >= 4);
}

TEST_CASE("slow, stalled and fast calls end the same way in both variants", "[timeouts]") {
  for (const char* how : {"future", "socket"}) {
    // A fast call takes at most half its deadline: 100 ms of margin here, more than a sanitizer
    // build beside a compile adds to a loopback call.
    const auto args =
        std::vector<std::string>{exe(), "--calls", "30", "--deadline-ms", "200", "--sync-timeout", how, "--json", "-"};
    const auto r = test::run(args);
    INFO(r.err);
    REQUIRE(r.code() == 0);
    const auto recs = test::json_lines(r.out);
    REQUIRE(recs.size() == 2);
    CHECK(recs[0]["result_digest"] == recs[1]["result_digest"]);
    CHECK(counter(recs[0], "timeouts") == counter(recs[1], "timeouts"));
    CHECK(counter(recs[0], "timeouts") >= 1);
    CHECK(counter(recs[0], "calls_ok") >= 1);
  }
}

TEST_CASE("timeouts: bad input exits 2 naming the option", "[timeouts]") {
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--deadline-ms", "0"}, "--deadline-ms"},
                                       {{"--sync-timeout", "maybe"}, "--sync-timeout"},
                                       {{"--stall-rate", "2"}, "--stall-rate"},
                                       {{"--calls", "0"}, "--calls"},
                                   });
}
