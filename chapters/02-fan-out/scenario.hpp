// Chapter 02 — fan-out / fan-in (§18 of the source analysis): what both variants share.
//
// The scenario: one request fans out into N calls to a backend service over real loopback TCP
// (common/backend_server.cpp, in a process of its own), and their answers are combined — fan-in
// — into one result.  sync.cpp gives each call a thread of its own; async.cpp a coroutine on one
// thread.  --max-in-flight bounds how many calls run at once; --policy fail-fast makes the first
// failure cancel the rest.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/backend.hpp"
#include "common/chapter.hpp"
#include "common/work_params.hpp"

namespace fan_out {

struct Params {
  std::int64_t tasks = 100;                     // calls the request fans out into
  std::int64_t delay_ms = 50;                   // the backend's delay for each call ...
  std::int64_t jitter_ms = 10;                  // ... plus a seeded share of this
  std::int64_t bytes = 256;                     // size of each answer
  std::int64_t max_in_flight = 0;               // calls running at once; 0 = all of them
  double fail_rate = 0;                         // share of calls the backend answers with a 500
  std::int64_t gather_calls = 0;                // the backend holds calls until this many have arrived
  std::string join_threads = "as-they-finish";  // sync: as-they-finish | at-the-end
  std::string policy = "collect-all";           // collect-all | fail-fast
  std::string backend;                          // HOST:PORT of a running backend; empty = start our own
  std::int64_t backend_threads = 2;             // threads of the backend we start
};

wb::Chapter make_chapter(Params& params);

// What one call ended as.  Every call ends as exactly one of these.
enum class CallStatus { ok, failed, cancelled };

struct CallResult {
  CallStatus status = CallStatus::cancelled;
  std::uint64_t digest = 0;  // of the answer's body, when ok
  std::string error;         // when failed
};

// The backend and the N requests.  Set up before the measured region: starting the backend
// and drawing each call's delay are not what the chapter measures.
class Workload : public wb::BackendWorkload {
 public:
  Workload(const Params& params, const wb::Run& run);  // each call's delay is drawn from run.seed()
  // After the clock: memory per call in flight — user RSS (VmHWM above the baseline) and the
  // kernel's share per thread, which VmHWM does not see (see wb::kKernelStackKib).
  void finish(wb::Run& run) const;
};

// What a call that threw ended as: cancelled, when the caller stopped it (`cancelled`) or the
// error says so (operation_aborted, a cancelled channel wait); otherwise failed, with the
// error's text.
CallResult ended_by(std::exception_ptr error, bool cancelled);

// Counts a call in flight from construction to destruction, and raises `peak` to the most at
// once.  Int is std::int64_t where one thread runs every call, an atomic where threads do.
inline void raise_peak(std::int64_t& peak, std::int64_t now) { peak = std::max(peak, now); }
inline void raise_peak(std::atomic<std::int64_t>& peak, std::int64_t now) {
  for (auto seen = peak.load(); now > seen && !peak.compare_exchange_weak(seen, now);) {
  }
}
template <class Int>
class InFlight {
 public:
  InFlight(Int& now, Int& peak) : now_(now) { raise_peak(peak, ++now_); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  ~InFlight() { --now_; }

 private:
  Int& now_;
};

// sync.cpp's thread per call (call_threads.cpp): runs call(i) for every i on a thread of its
// own and hands its exception, or a null one, to done(i, e) on that thread; returns when every
// thread has been joined — the fan-in point.  A finished thread keeps its stack (and the
// stack's pages in RSS) until it is joined, so with join_early the calling thread joins each
// one as soon as its call has ended while it goes on starting the others; otherwise all at the
// end, as a vector of std::jthread does by itself.  Records peak_unjoined_threads.  When the OS
// refuses a thread: stop(), join the ones started, throw wb::thread_refused's error.
void run_call_threads(std::size_t n, const std::function<void(std::size_t)>& call,
                      const std::function<void(std::size_t, std::exception_ptr)>& done, bool join_early,
                      const std::function<void()>& stop, wb::Run& run);

// Fan-in: the answers combined in call order, so the order in which calls finished does not
// matter; a failed call counts as failed.  Which calls a fail-fast run cancels depends on
// timing, so such a run, once a call failed, has no digest to compare: it returns a fixed
// marker instead, the same in both variants.
std::string fan_in(const std::vector<CallResult>& results, bool fail_fast);

// Counters both variants report the same way, from inside the measured region: calls ok /
// failed / cancelled, the most calls in flight at once, the fan-in latency.
void record_calls(const std::vector<CallResult>& results, std::int64_t peak_in_flight, double fan_in_ms, wb::Run& run);

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace fan_out
