// Chapter 11 — structured concurrency (§9): what the four variants share.
//
// The scenario: --requests requests, one after another; each handler fans out to three helpers
// — one needed call that answers after --needed-ms, and two speculative ones that make
// --spec-calls calls of --call-ms each before answering — and answers with the first result
// (or gives up at --deadline-ms), then returns.  What happens to the helpers still running
// when their handler returns is the lesson:
//   sync-detached   a detached std::thread each: they run on, making calls for nobody;
//   sync-scoped     a std::jthread each: leaving the scope requests stop and joins them;
//   async-detached  co_spawn(..., detached) each: they run on, as the detached threads do;
//   async-scoped    the awaitable operator ||: the first result cancels the others, and the
//                   operator completes only when all three have ended.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/chapter.hpp"

namespace structured_concurrency {

using Clock = std::chrono::steady_clock;

struct Params {
  std::int64_t requests = 20;
  std::int64_t needed_ms = 5;
  std::int64_t spec_calls = 5;
  std::int64_t call_ms = 10;
  std::int64_t deadline_ms = 200;
};

wb::Chapter make_chapter(Params& params);

// Scopes alive now (made and not yet destroyed), in this process.
std::int64_t scopes_alive();

// A handler's scope, shared with its helpers (they hold it by shared_ptr: a detached helper
// outliving its handler must not touch freed memory — see the README's exercise).
struct Scope {
  explicit Scope(std::int64_t request);
  ~Scope();
  std::int64_t request;
  std::atomic<bool> returned{false};  // the handler has returned
  std::atomic<int> running{0};        // helpers not yet ended
  // The first result: taken by whichever helper answers first, under mu.
  std::mutex mu;
  std::condition_variable_any answered;
  std::int64_t value = -1;
  Clock::time_point first{};
  // Takes v if nothing was answered yet; returns whether it was the first.
  bool deliver(std::int64_t v) {
    const std::lock_guard lock(mu);
    if (value >= 0) return false;
    value = v;
    first = Clock::now();
    answered.notify_all();
    return true;
  }
};

// Counts a helper as running for as long as it lives.
class Running {
 public:
  explicit Running(Scope& s) : s_(s) {}
  ~Running() { --s_.running; }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

 private:
  Scope& s_;
};

// What every variant counts the same way.  Safe from any thread.
class Tally {
 public:
  explicit Tally(wb::Run& run) : run_(run) {}
  // A helper begins a call; counted as late when its handler has already returned.
  void call(const Scope& scope);
  // The handler's scope ended at `end` (after joining or cancelling, for the scoped variants)
  // with the scope's answer (-1: nothing by the deadline).
  void handled(Scope& scope, Clock::time_point begin, Clock::time_point end);
  // After the last handler returned and dropped its scope: the scopes helpers still hold.
  void last_returned() { alive_at_exit_ = scopes_alive(); }
  wb::Outcome record(const Params& params);

 private:
  wb::Run& run_;
  std::atomic<std::int64_t> calls_{0}, late_calls_{0}, running_at_return_{0}, answered_{0}, alive_at_exit_{-1};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::int64_t> scope_end_us_max_{0};
};

// The value any helper answers for a request (a speculative one would have answered the same).
inline std::int64_t answer(std::int64_t request) { return 1000 + request; }

// Nothing to set up: every helper is started inside the measured region.
using Workload = wb::NoSetUp;

// Each of the two runs the detached or the scoped way, by run.variant().
wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace structured_concurrency
