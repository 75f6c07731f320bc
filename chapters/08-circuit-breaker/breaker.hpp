// Chapter 08 — a circuit breaker as pure code: a state machine with the time passed in, so the
// tests drive it with a fake clock (no sleeps), and both variants share it unchanged (the
// blocking one behind a mutex, the coroutine one on its single thread).  Modelled on
// resilience4j's CircuitBreaker (a count-based sliding window, a minimum number of calls, slow
// calls counted as failures, a fixed number of half-open probes) and Polly's.
//
//   closed ──(failures in the window >= threshold, once >= minimum calls are recorded)──> open
//   open ──(open_for has passed: the next call asks)──> half-open
//   half-open ──(all `probes` probes succeeded)──> closed      (the window starts empty)
//   half-open ──(a probe failed)──> open                        (open_for starts again)
//
// There is no path closed -> half-open, and nothing but a call moves the state: a breaker
// nobody asks stays open.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace circuit_breaker {

using Time = std::chrono::nanoseconds;  // since the scenario's start

enum class State { closed, open, half_open };
const char* to_string(State s);

struct BreakerConfig {
  std::int64_t failure_threshold = 5;  // failures among the last `window_calls` calls that open it
  std::int64_t window_calls = 20;      // the sliding window, in calls
  std::int64_t minimum_calls = 10;     // no verdict before this many calls are in the window
  Time slow_call = Time::zero();       // a success slower than this counts as a failure (0: never)
  Time open_for = std::chrono::milliseconds(200);
  std::int64_t probes = 2;  // calls let through in half-open
};

// What try_acquire hands an admitted call: the breaker's state "generation" at the time, so an
// outcome that arrives after the state changed (a slow call admitted while closed, ending after
// the breaker opened) is not taken for a probe's.
struct Permit {
  std::uint64_t generation = 0;
};

struct Transition {
  Time at;
  State to;
};

class Breaker {
 public:
  explicit Breaker(BreakerConfig config);

  // May a call go now?  Closed: yes.  Open: no — until open_for has passed, when this call
  // turns it half-open and is the first probe.  Half-open: yes for the first `probes` calls
  // since it turned half-open, then no until they have reported.
  std::optional<Permit> try_acquire(Time now);
  // How an admitted call ended.  A success that took longer than slow_call is a failure.  An
  // outcome from an earlier state (see Permit) changes nothing.
  void on_success(Time now, Permit permit, Time took);
  void on_failure(Time now, Permit permit);

  State state() const { return state_; }
  const std::vector<Transition>& transitions() const { return transitions_; }
  std::int64_t failures_in_window() const;

 private:
  void record(Time now, Permit permit, bool failed);
  void move_to(Time now, State s);

  BreakerConfig config_;
  State state_ = State::closed;
  std::deque<bool> window_;  // closed: the last window_calls outcomes, true = failed
  Time opened_at_{};
  std::int64_t probes_admitted_ = 0, probes_succeeded_ = 0;
  std::uint64_t generation_ = 0;  // one per state entered
  std::vector<Transition> transitions_;
};

}  // namespace circuit_breaker
