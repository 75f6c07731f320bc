// Chapter 07 — five rate limiters as pure code: no threads, no clock of their own.  The caller
// passes the time (`now`, nanoseconds since any fixed start), so the tests drive them with a
// fake clock and exact numbers, and both variants share them unchanged (the blocking one behind
// a mutex, the coroutine one on its single thread).
//
// Each answers one question — when may this request go? — as a time at or after `now`, or
// "never" (refused).  Answering commits: the request is counted as admitted at that time, so the
// next caller queues behind it (a reservation, as Guava's RateLimiter and Go's rate.Reserve do).
// A caller that may not wait is refused unless the answer is `now`.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rate_limit {

using Time = std::chrono::nanoseconds;  // since the scenario's start

struct Limits {
  double rate_per_s = 100;                // the average rate every algorithm holds
  std::int64_t burst = 10;                // token bucket: its capacity; leaky bucket: how many may wait in it
  Time window = std::chrono::seconds(1);  // the window algorithms: rate_per_s x window per window
};

class Limiter {
 public:
  virtual ~Limiter() = default;
  // When the request arriving at `now` may go (>= now), committed; nullopt when refused.
  virtual std::optional<Time> admit(Time now, bool may_wait) = 0;
};

// "token-bucket", "leaky-bucket", "fixed-window", "sliding-log", "sliding-window".
const std::vector<std::string>& algorithms();
std::unique_ptr<Limiter> make_limiter(const std::string& algorithm, const Limits& limits);

// Token bucket (GCRA form): tokens refill at rate_per_s up to `burst`; a request takes one.
// Allows a burst of `burst` at once, then the rate.  State: the theoretical arrival time.
class TokenBucket final : public Limiter {
 public:
  explicit TokenBucket(const Limits& l);
  std::optional<Time> admit(Time now, bool may_wait) override;

 private:
  Time interval_;   // 1 / rate
  Time tolerance_;  // (burst - 1) x interval: how far ahead of schedule a request may go
  std::optional<Time> tat_;
};

// Leaky bucket as a queue: requests leave one every 1/rate, never faster — no bursts at all;
// up to `burst` may wait in the bucket for their turn, and one that finds it full is refused,
// waiting or not.
class LeakyBucket final : public Limiter {
 public:
  explicit LeakyBucket(const Limits& l);
  std::optional<Time> admit(Time now, bool may_wait) override;

 private:
  Time interval_;
  std::int64_t capacity_;
  std::optional<Time> last_;  // when the last admitted request leaves
};

// Fixed window: at most rate x window in each window [k·W, (k+1)·W).  Cheap, and wrong at the
// edges: a full window's worth just before a boundary and another just after is twice the
// limit within moments.
class FixedWindow final : public Limiter {
 public:
  explicit FixedWindow(const Limits& l);
  std::optional<Time> admit(Time now, bool may_wait) override;

 private:
  Time window_;
  std::int64_t limit_;
  std::int64_t index_ = INT64_MIN;  // the latest window with admissions (maybe a future one)
  std::int64_t count_ = 0;          // admissions in it
};

// Sliding log: at most rate x window in *any* interval of length W — exact, at the price of
// remembering the last `limit` admission times.
class SlidingLog final : public Limiter {
 public:
  explicit SlidingLog(const Limits& l);
  std::optional<Time> admit(Time now, bool may_wait) override;

 private:
  Time window_;
  std::int64_t limit_;
  std::deque<Time> log_;  // the last `limit` admission times, oldest first
};

// Sliding-window counter: the fixed windows' counts, with the previous window weighted by how
// much of it still overlaps the sliding window — an estimate (exact when arrivals are even)
// with two counters of state.
class SlidingWindowCounter final : public Limiter {
 public:
  explicit SlidingWindowCounter(const Limits& l);
  std::optional<Time> admit(Time now, bool may_wait) override;

 private:
  Time window_;
  double limit_;
  Time last_{INT64_MIN};                         // the latest admission (maybe in the future)
  std::map<std::int64_t, std::int64_t> counts_;  // window index -> admissions
};

}  // namespace rate_limit
