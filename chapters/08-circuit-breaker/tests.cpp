// Chapter 08 (circuit breaker): the state machine driven by a fake clock, in the manner of
// resilience4j's and Polly's state-machine tests (no sleeps: the time is an argument); then the
// backend's outage window; then the chapter itself, run as a user runs it.
#include <catch2/catch.hpp>

#include "chapters/08-circuit-breaker/breaker.hpp"
#include "common/work_params.hpp"
#include "tests/support.hpp"

using nlohmann::json;
using namespace circuit_breaker;
using std::chrono::milliseconds;

namespace {

Time ms(std::int64_t v) { return milliseconds(v); }

// Threshold 3 failures in a window of 5 calls, at least 4 calls recorded, open for 100 ms, 2 probes.
BreakerConfig config() {
  return BreakerConfig{.failure_threshold = 3, .window_calls = 5, .minimum_calls = 4, .open_for = ms(100), .probes = 2};
}

void fail(Breaker& b, Time now) {
  const auto p = b.try_acquire(now);
  REQUIRE(p);
  b.on_failure(now, *p);
}

void succeed(Breaker& b, Time now, Time took = Time::zero()) {
  const auto p = b.try_acquire(now);
  REQUIRE(p);
  b.on_success(now, *p, took);
}

// A breaker opened at t = 0 (by four failures).
Breaker opened() {
  Breaker b(config());
  for (int i = 0; i < 4; ++i) fail(b, ms(0));
  REQUIRE(b.state() == State::open);
  return b;
}

}  // namespace

TEST_CASE("no verdict before the minimum number of calls, then the threshold opens it", "[circuit-breaker]") {
  Breaker b(config());
  fail(b, ms(0));
  fail(b, ms(0));
  fail(b, ms(0));  // three failures: the threshold, but only three calls recorded
  CHECK(b.state() == State::closed);
  succeed(b, ms(1));  // the fourth call: 3 failures of 4 >= 3
  CHECK(b.state() == State::open);
  CHECK(b.transitions().size() == 1);
  CHECK(b.transitions()[0].at == ms(1));
}

TEST_CASE("the window slides: old failures leave it", "[circuit-breaker]") {
  Breaker b(config());
  fail(b, ms(0));
  fail(b, ms(0));
  for (int i = 0; i < 5; ++i) succeed(b, ms(1));  // the two failures slide out of the 5-call window
  CHECK(b.failures_in_window() == 0);
  fail(b, ms(2));
  fail(b, ms(2));
  CHECK(b.state() == State::closed);  // 2 of 5
  fail(b, ms(2));
  CHECK(b.state() == State::open);  // 3 of 5
}

TEST_CASE("a slow success counts as a failure when slow calls are judged", "[circuit-breaker]") {
  auto c = config();
  c.slow_call = ms(50);
  Breaker b(c);
  for (int i = 0; i < 3; ++i) succeed(b, ms(0), ms(80));
  succeed(b, ms(0), ms(10));
  CHECK(b.state() == State::open);
  Breaker fast(config());  // slow_call 0: never judged slow
  for (int i = 0; i < 4; ++i) succeed(fast, ms(0), ms(80));
  CHECK(fast.state() == State::closed);
}

TEST_CASE("open refuses every call until open_for has passed, without touching anything", "[circuit-breaker]") {
  auto b = opened();
  for (int t = 0; t < 100; t += 10) CHECK_FALSE(b.try_acquire(ms(t)));
  CHECK(b.state() == State::open);  // refusing moved nothing
  CHECK(b.transitions().size() == 1);
}

TEST_CASE("half-open admits exactly the probes, then refuses until they report", "[circuit-breaker]") {
  auto b = opened();
  const auto p1 = b.try_acquire(ms(100));  // open_for has passed: half-open, first probe
  CHECK(b.state() == State::half_open);
  const auto p2 = b.try_acquire(ms(101));
  CHECK(p1);
  CHECK(p2);
  for (int i = 0; i < 10; ++i) CHECK_FALSE(b.try_acquire(ms(102)));  // the probes are out
  b.on_success(ms(103), *p1, ms(1));
  CHECK(b.state() == State::half_open);  // one of two
  CHECK_FALSE(b.try_acquire(ms(103)));
  b.on_success(ms(104), *p2, ms(1));
  CHECK(b.state() == State::closed);
  CHECK(b.try_acquire(ms(104)));
  CHECK(b.failures_in_window() == 0);  // closed starts with an empty window
}

TEST_CASE("a failed probe opens it again with its timer restarted", "[circuit-breaker]") {
  auto b = opened();
  const auto p1 = b.try_acquire(ms(150));
  const auto p2 = b.try_acquire(ms(150));
  b.on_failure(ms(160), *p1);
  CHECK(b.state() == State::open);
  CHECK_FALSE(b.try_acquire(ms(200)));  // 100 ms from 160, not from 0
  CHECK_FALSE(b.try_acquire(ms(259)));
  b.on_success(ms(200), *p2, ms(1));  // the other probe reports late: it changes nothing now
  CHECK(b.state() == State::open);
  CHECK(b.try_acquire(ms(260)));
  CHECK(b.state() == State::half_open);
}

TEST_CASE("there is no path from closed to half-open, and a stale outcome is not a probe's", "[circuit-breaker]") {
  Breaker b(config());
  const auto slow = b.try_acquire(ms(0));  // admitted while closed...
  for (int i = 0; i < 4; ++i) fail(b, ms(1));
  const auto probe = b.try_acquire(ms(200));  // ...half-open now
  REQUIRE(probe);
  b.on_success(ms(201), *slow, ms(201));  // the slow call ends: not a probe
  CHECK(b.state() == State::half_open);
  for (const auto& t : b.transitions()) CHECK(t.to != State::closed);  // closed -> open -> half-open
  REQUIRE(b.transitions().size() == 2);
  CHECK(b.transitions()[0].to == State::open);
  CHECK(b.transitions()[1].to == State::half_open);
}

TEST_CASE("a breaker refuses a configuration that could never open or close", "[circuit-breaker]") {
  auto c = config();
  c.failure_threshold = 6;  // more than the window holds
  CHECK_THROWS_AS(Breaker(c), std::invalid_argument);
  c = config();
  c.probes = 0;
  CHECK_THROWS_AS(Breaker(c), std::invalid_argument);
}

TEST_CASE("the backend's outage is a window of the monotonic clock, carried by every request", "[circuit-breaker]") {
  wb::WorkRequest w;
  w.outage = wb::WorkRequest::kOutageStall;
  w.outage_at_ms = 5000;
  w.outage_ms = 200;
  std::string error;
  const auto back = wb::WorkRequest::parse(w.target(), &error);
  REQUIRE(back);
  CHECK(back->outage == wb::WorkRequest::kOutageStall);
  CHECK_FALSE(back->in_outage(4999));
  CHECK(back->in_outage(5000));
  CHECK(back->in_outage(5199));
  CHECK_FALSE(back->in_outage(5200));
  CHECK_FALSE(wb::WorkRequest::parse("/work?outage=sometimes", &error));
  CHECK(error == "bad value for outage");
}

// --- the chapter ------------------------------------------------------------------------------

namespace {

std::string exe() { return test::exe_from_env("WB_CIRCUIT_BREAKER"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// Shorter calls than the defaults: 8 clients every 10 ms; healthy 200 ms, down 600 ms, healthy
// 400 ms; calls of 2 ms with a 150 ms timeout — a margin a sanitizer build's slow healthy calls
// cannot cross (a healthy call that timed out would count as a failure and could reopen the
// breaker after the recovery: a different state sequence); open for 60 ms, 2 probes.
std::vector<json> run_both(const char* kind, const char* breaker) {
  return test::run_records(
      exe(), {"--clients",     "8",   "--call-every-ms", "10",   "--call-ms",      "2",   "--timeout-ms", "150",
              "--healthy-ms",  "200", "--outage-ms",     "600",  "--recovered-ms", "400", "--open-ms",    "60",
              "--outage-kind", kind,  "--breaker",       breaker});
}

}  // namespace

TEST_CASE("both variants go through the same states, and only the bound's calls reach the backend while it is down",
          "[circuit-breaker]") {
  for (const char* kind : {"error", "stall"}) {
    const auto recs = run_both(kind, "on");
    CHECK(recs[0]["result_digest"] == recs[1]["result_digest"]);
    for (const auto& r : recs) {
      INFO(kind << " " << r["variant"] << ": " << r["counters"].dump());
      CHECK(r["info"]["states"] == "closed>open>[half-open>open]>half-open>closed");
      CHECK(counter(r, "lost") == 0);
      // threshold 5 + 8 clients in flight + 2 probes x (600 / 60 + 1) = 35
      CHECK(counter(r, "outage_calls_bound") == 35);
      CHECK(counter(r, "outage_backend_calls") <= 35);
      CHECK(counter(r, "refused") > 0);
      // It closes once the backend is back: the next probes after at most an open period and
      // a timeout (generous: a sanitizer build is slow).
      CHECK(counter(r, "recovery_to_closed_ms") < 60 + 150 + 10 + 500);
    }
  }
}

TEST_CASE("without a breaker every call during an error outage reaches the backend and fails", "[circuit-breaker]") {
  for (const auto& r : run_both("error", "off")) {
    INFO(r["variant"] << ": " << r["counters"].dump());
    CHECK(r["info"]["states"] == "off");
    // 8 clients, one call per 10 ms, for 600 ms: up to 480 calls, all failed — far more than the
    // 35 a breaker would let through (fewer than 480 where a slow build makes clients miss slots).
    CHECK(counter(r, "outage_backend_calls") > 35);
    // (Not failed == outage_backend_calls: a call is counted by when it was asked, and fails by
    // when it arrives — in a slow build a call asked just before the outage can arrive in it.)
    CHECK(counter(r, "failed") > 35);
    CHECK(counter(r, "refused") == 0);
  }
}

TEST_CASE("in a stall, an open breaker answers at once where a caller without one waits out its timeout",
          "[circuit-breaker]") {
  const auto with = run_both("stall", "on");
  const auto without = run_both("stall", "off");
  for (std::size_t v = 0; v < 2; ++v) {
    INFO(with[v]["variant"] << ": " << with[v]["counters"].dump() << "\n" << without[v]["counters"].dump());
    CHECK(counter(without[v], "outage_latency_p50_ms") >= 150);  // a timeout is never early
    CHECK(counter(with[v], "outage_latency_p50_ms") < 5);        // most calls: refused in microseconds
    CHECK(counter(without[v], "missed") > counter(with[v], "missed"));
    CHECK(counter(without[v], "in_flight_peak") == 8);  // every caller tied up at once
  }
  // Tied up where: 8 threads in the blocking variant, one thread for all in the coroutine one.
  CHECK(without[0]["metrics"]["peak_threads"] >= 8);
  CHECK(without[1]["metrics"]["peak_threads"] == 1);
}

TEST_CASE("circuit-breaker: bad input exits 2 naming the option", "[circuit-breaker]") {
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--failure-threshold", "0"}, "--failure-threshold"},
                                       {{"--outage-kind", "flaky"}, "--outage-kind"},
                                       {{"--breaker", "maybe"}, "--breaker"},
                                       {{"--half-open-probes", "0"}, "--half-open-probes"},
                                       {{"--failure-threshold", "30", "--window-calls", "20"}, "--failure-threshold"},
                                       {{"--minimum-calls", "30", "--window-calls", "20"}, "--minimum-calls"},
                                   });
}
