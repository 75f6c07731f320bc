// Chapter 09 — blocking in the event loop, the BLOCKING way (variant `sync`).  Twin of
// async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a std::thread per task.  Each heartbeat sleeps until its next tick; each
// blocker sleeps until its next operation and then blocks — its own thread, no one else's.  A
// thread per task is the blocking model's answer to a blocking call: it costs a thread each,
// and the kernel shares the cores among them.
#include <exception>
#include <mutex>
#include <thread>

#include "chapters/09-blocking-in-the-loop/scenario.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"

using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace blocking_in_the_loop {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  Beats beats(params, Clock::now(), run);
  wb::FirstError error;

  // A heartbeat: wake at every tick, note how late.
  auto heartbeat = [&](std::int64_t h) {
    for (std::int64_t k = 0; beats.due(h, k) < beats.end();) {
      wb::event(h, "wait for the tick");
      std::this_thread::sleep_until(beats.due(h, k));
      k = beats.ticked(h, k);
    }
  };

  // A blocker: every every_ms, a blocking operation of block_ms — here, on its own thread.
  auto blocker = [&](std::int64_t b) {
    const auto every = std::chrono::duration_cast<Clock::duration>(milliseconds(params.every_ms));
    for (std::int64_t k = 0; beats.start() + every * b / params.blockers + every * k < beats.end(); ++k) {
      wb::event(-1, "wait for the next call");
      std::this_thread::sleep_until(beats.start() + every * b / params.blockers + every * k);
      const wb::Span span(-1, "blocking call");
      Blocking op(params, workload);
      wb::event(-1, "in the blocking call");
      op.step(milliseconds(params.block_ms));  // the whole call at once: this thread is stuck in it
      beats.blocked(op);
    }
  };

  // A thread each: the heartbeats, then the blockers (task numbers after the heartbeats').
  wb::run_on_threads(
      params.heartbeats + params.blockers,
      [&](std::int64_t t) { t < params.heartbeats ? heartbeat(t) : blocker(t - params.heartbeats); }, error.handler());
  error.rethrow();
  return beats.record(params);
}

}  // namespace blocking_in_the_loop
