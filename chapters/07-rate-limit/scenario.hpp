// Chapter 07 — rate limiting (§20): what both variants share.
//
// The scenario: --clients callers, each wanting --calls backend calls as fast as it is allowed,
// all behind one limiter of --rate-per-s (and --burst, --window-ms) — one of five algorithms
// (limiters.hpp).  With --when-limited wait a limited caller waits for its turn: a thread asleep
// (sync) or a coroutine on a timer (async); with reject it is turned away at once.  The limiter
// grants each admission a time; the caller then starts its call at that time — or a little
// later, when the machine wakes it late.  Both are recorded: the granted times show what the
// algorithm allows, the start times what the callers got.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chapters/07-rate-limit/limiters.hpp"
#include "common/backend.hpp"
#include "common/chapter.hpp"
#include "common/work_params.hpp"

namespace rate_limit {

using Clock = std::chrono::steady_clock;

struct Params {
  std::int64_t clients = 100;  // threads (sync) or coroutines (async) making calls
  std::int64_t calls = 3;      // calls each client makes, one after the other
  std::string algorithm = "token-bucket";
  double rate_per_s = 400;            // the limiter's average rate
  std::int64_t burst = 20;            // token bucket: capacity; leaky bucket: how many may wait
  std::int64_t window_ms = 250;       // the window algorithms' window
  std::string when_limited = "wait";  // wait | reject
  std::int64_t call_ms = 0;           // how long each backend call takes
  std::string start = "together";     // together: the limiter opens once every client is waiting at it
  std::string backend;                // HOST:PORT of a running backend; empty = start our own
};

wb::Chapter make_chapter(Params& params);

// Starts the backend before the measured region.
class Workload : public wb::BackendWorkload {
 public:
  Workload(const Params& params, const wb::Run& run);
};

Limits limits_of(const Params& params);
wb::WorkRequest call_request(const Params& params, std::uint64_t id);

// The one limiter every client asks, and what it answered.  Safe from any thread: the blocking
// variant's clients ask it from theirs (a mutex, held for the admit() call only — nobody sleeps
// holding it); the coroutine variant's single thread never contends for it.
//
// The start line (--start together): each client arrives at the gate before its first call, and
// the limiter's clock starts when the last one has arrived, so every client asks at once and the
// queue is certain — whatever the speed at which this machine starts threads or coroutines.
// Without it (--start as-started) a client asks as soon as it runs: where threads start slower
// than the limiter admits them, nobody waits, and the start-up itself sets the rate.
class Gate {
 public:
  explicit Gate(const Params& params);
  // This client is ready.  True for the one whose arrival opens the gate (the last, or the
  // first with --start as-started), which starts the limiter's clock.
  bool arrive();
  bool open() const;
  // When the caller arriving now may start its call; nullopt when refused.
  std::optional<Clock::time_point> ask();
  // A caller begins (+1) or ends (-1) waiting for its turn: the "waiting" series and its peak.
  void waiting(int delta, wb::Run& run);
  // The caller has started (its wait is over).
  void started(Clock::time_point granted, wb::Run& run, Clock::time_point arrived);
  // Counters and the outcome ("calls=N lost=0").
  wb::Outcome record(const Params& params, wb::Run& run);

 private:
  Clock::time_point start_;
  bool may_wait_;
  std::int64_t expected_;  // arrivals that open the gate
  std::int64_t arrived_ = 0;
  bool open_ = false;
  mutable std::mutex mu_;
  std::unique_ptr<Limiter> limiter_;
  std::int64_t rejected_ = 0;
  std::int64_t waiting_ = 0, waiting_peak_ = 0;
  std::vector<Time> granted_, began_;  // per admission, since start
};

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace rate_limit
