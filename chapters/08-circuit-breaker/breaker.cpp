#include "chapters/08-circuit-breaker/breaker.hpp"

#include <algorithm>
#include <stdexcept>

namespace circuit_breaker {

const char* to_string(State s) {
  switch (s) {
    case State::closed:
      return "closed";
    case State::open:
      return "open";
    case State::half_open:
      return "half-open";
  }
  return "?";
}

Breaker::Breaker(BreakerConfig config) : config_(config) {
  if (config_.failure_threshold < 1 || config_.window_calls < 1 || config_.minimum_calls < 1 || config_.probes < 1 ||
      config_.failure_threshold > config_.window_calls || config_.minimum_calls > config_.window_calls ||
      config_.open_for < Time::zero())
    throw std::invalid_argument(
        "a breaker needs 1 <= failure threshold <= window, 1 <= minimum calls <= window, probes >= 1, open time >= 0");
}

std::optional<Permit> Breaker::try_acquire(Time now) {
  switch (state_) {
    case State::closed:
      return Permit{generation_};
    case State::open:
      if (now - opened_at_ < config_.open_for) return std::nullopt;  // refused at once: the dependency is not touched
      move_to(now, State::half_open);
      [[fallthrough]];
    case State::half_open:
      if (probes_admitted_ >= config_.probes) return std::nullopt;  // the probes are out: wait for them
      ++probes_admitted_;
      return Permit{generation_};
  }
  return std::nullopt;
}

void Breaker::on_success(Time now, Permit permit, Time took) {
  record(now, permit, config_.slow_call > Time::zero() && took > config_.slow_call);
}

void Breaker::on_failure(Time now, Permit permit) { record(now, permit, true); }

std::int64_t Breaker::failures_in_window() const { return std::count(window_.begin(), window_.end(), true); }

void Breaker::record(Time now, Permit permit, bool failed) {
  if (permit.generation != generation_) return;  // admitted in an earlier state: already judged
  switch (state_) {
    case State::closed:
      window_.push_back(failed);
      if (static_cast<std::int64_t>(window_.size()) > config_.window_calls) window_.pop_front();
      if (static_cast<std::int64_t>(window_.size()) >= config_.minimum_calls &&
          failures_in_window() >= config_.failure_threshold)
        move_to(now, State::open);
      break;
    case State::half_open:
      if (failed) {
        move_to(now, State::open);  // the timer starts again
      } else if (++probes_succeeded_ >= config_.probes) {
        move_to(now, State::closed);
      }
      break;
    case State::open:
      break;  // (unreachable: nothing is admitted in this generation)
  }
}

void Breaker::move_to(Time now, State s) {
  state_ = s;
  ++generation_;
  transitions_.push_back({now, s});
  if (s == State::open) opened_at_ = now;
  if (s == State::half_open) probes_admitted_ = probes_succeeded_ = 0;
  if (s == State::closed) window_.clear();
}

}  // namespace circuit_breaker
