#include "chapters/07-rate-limit/limiters.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rate_limit {

namespace {

Time interval_of(double rate_per_s) { return Time(std::llround(1e9 / rate_per_s)); }

// Admissions allowed per window: rate x window, at least one.
std::int64_t per_window(const Limits& l) {
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::floor(l.rate_per_s * std::chrono::duration<double>(l.window).count() + 1e-9)));
}

// Floor division, so that window indexes are right for times before the start too.
std::int64_t window_index(Time t, Time window) {
  const auto q = t.count() / window.count();
  return (t.count() % window.count() < 0) ? q - 1 : q;
}

}  // namespace

const std::vector<std::string>& algorithms() {
  static const std::vector<std::string> names = {"token-bucket", "leaky-bucket", "fixed-window", "sliding-log",
                                                 "sliding-window"};
  return names;
}

std::unique_ptr<Limiter> make_limiter(const std::string& algorithm, const Limits& limits) {
  if (!(limits.rate_per_s > 0) || limits.burst < 1 || limits.window <= Time::zero())
    throw std::invalid_argument("rate limits need a rate > 0, a burst >= 1 and a window > 0");
  if (algorithm == "token-bucket") return std::make_unique<TokenBucket>(limits);
  if (algorithm == "leaky-bucket") return std::make_unique<LeakyBucket>(limits);
  if (algorithm == "fixed-window") return std::make_unique<FixedWindow>(limits);
  if (algorithm == "sliding-log") return std::make_unique<SlidingLog>(limits);
  if (algorithm == "sliding-window") return std::make_unique<SlidingWindowCounter>(limits);
  throw std::invalid_argument("no rate limiter called \"" + algorithm + "\"");
}

// --- token bucket ----------------------------------------------------------------------------

TokenBucket::TokenBucket(const Limits& l)
    : interval_(interval_of(l.rate_per_s)), tolerance_((l.burst - 1) * interval_) {}

std::optional<Time> TokenBucket::admit(Time now, bool may_wait) {
  // A full bucket is a theoretical arrival time at or before now; each request moves it one
  // interval on, and a request may go up to `tolerance` ahead of it.
  const Time t = tat_ ? std::max(now, *tat_ - tolerance_) : now;
  if (t > now && !may_wait) return std::nullopt;
  tat_ = std::max(t, tat_.value_or(t)) + interval_;
  return t;
}

// --- leaky bucket ------------------------------------------------------------------------------

LeakyBucket::LeakyBucket(const Limits& l) : interval_(interval_of(l.rate_per_s)), capacity_(l.burst) {}

std::optional<Time> LeakyBucket::admit(Time now, bool /*may_wait: a bucket is a queue*/) {
  const Time t = last_ ? std::max(now, *last_ + interval_) : now;
  if (t - now > capacity_ * interval_) return std::nullopt;  // more than `capacity` ahead of it: full
  last_ = t;
  return t;
}

// --- fixed window ------------------------------------------------------------------------------

FixedWindow::FixedWindow(const Limits& l) : window_(l.window), limit_(per_window(l)) {}

std::optional<Time> FixedWindow::admit(Time now, bool may_wait) {
  auto index = index_, count = count_;
  const auto current = window_index(now, window_);
  if (current > index) {
    index = current;
    count = 0;
  }
  Time t = index == current ? now : index * window_;  // reservations may have filled windows ahead
  if (count >= limit_) {
    ++index;
    count = 0;
    t = index * window_;
  }
  if (t > now && !may_wait) return std::nullopt;
  index_ = index;
  count_ = count + 1;
  return t;
}

// --- sliding log -------------------------------------------------------------------------------

SlidingLog::SlidingLog(const Limits& l) : window_(l.window), limit_(per_window(l)) {}

std::optional<Time> SlidingLog::admit(Time now, bool may_wait) {
  Time t = now;
  // With `limit` admissions logged, the new one must be a window after the oldest of them, so
  // that no interval [x, x + W) holds more than `limit`.
  if (static_cast<std::int64_t>(log_.size()) >= limit_) t = std::max(t, log_.front() + window_);
  if (!log_.empty()) t = std::max(t, log_.back());  // in order behind earlier reservations
  if (t > now && !may_wait) return std::nullopt;
  log_.push_back(t);
  if (static_cast<std::int64_t>(log_.size()) > limit_) log_.pop_front();
  return t;
}

// --- sliding-window counter --------------------------------------------------------------------

SlidingWindowCounter::SlidingWindowCounter(const Limits& l)
    : window_(l.window), limit_(static_cast<double>(per_window(l))) {}

std::optional<Time> SlidingWindowCounter::admit(Time now, bool may_wait) {
  Time t = std::max(now, last_);
  std::int64_t k = 0;
  for (;;) {
    k = window_index(t, window_);
    const auto at = [&](std::int64_t i) {
      const auto it = counts_.find(i);
      return it == counts_.end() ? 0.0 : static_cast<double>(it->second);
    };
    const double current = at(k), previous = at(k - 1);
    const Time next = (k + 1) * window_;
    if (current + 1 > limit_) {  // this window is full whatever the overlap: the next one
      t = next;
      continue;
    }
    // Estimate at t: previous x (share of the previous window still inside [t - W, t)) + current.
    // Admit when estimate + 1 <= limit: wait until enough of the previous window has slid out.
    const double must_slide = previous > 0 ? 1.0 - (limit_ - current - 1) / previous : 0.0;
    if (must_slide > 0) {
      const Time earliest =
          k * window_ + Time(static_cast<std::int64_t>(std::ceil(static_cast<double>(window_.count()) * must_slide)));
      if (earliest >= next) {
        t = next;
        continue;
      }
      t = std::max(t, earliest);
    }
    break;
  }
  if (t > now && !may_wait) return std::nullopt;
  ++counts_[k];
  last_ = t;
  counts_.erase(counts_.begin(), counts_.lower_bound(k - 1));  // only the last two windows matter
  return t;
}

}  // namespace rate_limit
