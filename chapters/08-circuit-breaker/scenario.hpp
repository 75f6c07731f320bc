// Chapter 08 — a circuit breaker (§19): what both variants share.
//
// The scenario: --clients callers each call the backend every --call-every-ms, with a timeout
// of --timeout-ms per call, through one circuit breaker (breaker.hpp) — or, with --breaker off,
// straight through.  The backend goes through three phases on a schedule: healthy for
// --healthy-ms, then an outage of --outage-ms (--outage-kind error: every call fails at once;
// stall: no call is answered, each caller waits out its timeout), then recovered for
// --recovered-ms.  The outage is a window of the machine's monotonic clock that every request
// carries (common/work_params.hpp), so the backend needs no state to be told.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chapters/08-circuit-breaker/breaker.hpp"
#include "common/backend.hpp"
#include "common/chapter.hpp"
#include "common/histogram.hpp"
#include "common/work_params.hpp"

namespace circuit_breaker {

using Clock = std::chrono::steady_clock;

struct Params {
  std::int64_t clients = 10;           // threads (sync) or coroutines (async) making calls
  std::int64_t call_every_ms = 20;     // each client calls this often (later if a call takes longer)
  std::int64_t call_ms = 5;            // a healthy call takes this long
  std::int64_t timeout_ms = 100;       // a caller gives up on a call after this long
  std::int64_t healthy_ms = 300;       // the phases: healthy,
  std::int64_t outage_ms = 600;        // down,
  std::int64_t recovered_ms = 400;     // healthy again
  std::string outage_kind = "error";   // error (fail at once) | stall (never answer)
  std::string breaker = "on";          // on | off
  std::int64_t failure_threshold = 5;  // failures in the window that open the breaker
  std::int64_t window_calls = 20;      // the sliding window, in calls
  std::int64_t minimum_calls = 10;     // no verdict before this many calls
  std::int64_t slow_call_ms = 0;       // a success slower than this counts as a failure (0: never)
  std::int64_t open_ms = 100;          // how long the breaker stays open
  std::int64_t half_open_probes = 2;   // calls let through in half-open
  std::string backend;                 // HOST:PORT of a running backend; empty = start our own
};

wb::Chapter make_chapter(Params& params);

// Starts the backend before the measured region.
class Workload : public wb::BackendWorkload {
 public:
  Workload(const Params& params, const wb::Run& run);
};

BreakerConfig breaker_config(const Params& params);

// The breaker every client goes through (or none), the schedule of the phases, and what the
// callers saw.  Safe from any thread: the blocking clients call it from theirs (a mutex held
// for the breaker's bookkeeping only, never across a call); the coroutines never contend.
class Calls {
 public:
  Calls(const Params& params, Clock::time_point start);
  Clock::time_point end() const { return start_ + total_; }
  // When a client's k-th call is due (clients are staggered over one interval).
  Clock::time_point due(std::int64_t client, std::int64_t k) const;
  // The slot to call in next, from k on: slots that passed while the client was still waiting
  // for an earlier call are skipped and counted as missed — a caller tied up cannot call.
  std::int64_t skip_missed(std::int64_t client, std::int64_t k);
  // The request for a client's k-th call: the outage window travels with it.
  wb::WorkRequest request(std::int64_t client, std::int64_t k) const;

  // Before a call: whether it may go (a permit), timing the refusal; nullopt: refused.
  std::optional<Permit> ask(Clock::time_point asked, wb::Run& run);
  // After an admitted call.
  enum class Ended { ok, failed, timed_out };
  void ended(Clock::time_point asked, Permit permit, Ended how, wb::Run& run);
  void in_flight(int delta, wb::Run& run);

  wb::Outcome record(const Params& params, wb::Run& run);

 private:
  bool in_outage(Clock::time_point t) const;
  void latency(Clock::time_point asked, Clock::time_point now, wb::Run& run);

  const Params& params_;
  Clock::time_point start_;
  Clock::duration healthy_, outage_, total_;
  std::int64_t outage_at_ms_;  // the outage's start, in steady_clock milliseconds
  std::mutex mu_;
  std::optional<Breaker> breaker_;
  std::int64_t attempted_ = 0, refused_ = 0, ok_ = 0, failed_ = 0, timed_out_ = 0, missed_ = 0;
  std::int64_t outage_backend_calls_ = 0, in_flight_ = 0, in_flight_peak_ = 0;
  wb::Histogram outage_latency_, refusal_cost_;
};

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace circuit_breaker
