// Chapter 09 — blocking in the event loop, the ASYNC ways (variants `async-blocking`,
// `async-offload`, `async-chunked`).  Twin of sync.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a coroutine per task on one io_context thread.  Each heartbeat suspends
// on a timer until its next tick; each blocker suspends until its next operation, and then:
//   async-blocking  makes the blocking call right there, on the loop thread — THE PITFALL: until
//                   it returns, no timer fires, no heartbeat runs, nothing on this thread moves;
//   async-offload   hands the call to an asio::thread_pool and suspends until it is done
//                   (co_spawn onto the pool: `post(pool, use_awaitable)` alone would not move
//                   the coroutine there);
//   async-chunked   does the work a slice at a time and yields (`co_await post(io, ...)`)
//                   between slices, so the loop runs whatever became due meanwhile.
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/09-blocking-in-the-loop/scenario.hpp"
#include "common/first_error.hpp"

namespace asio = boost::asio;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace blocking_in_the_loop {

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const std::string& variant = run.variant().name();
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs every task
  asio::thread_pool pool(static_cast<std::size_t>(variant == "async-offload" ? params.blockers : 0));
  Beats beats(params, Clock::now(), run);
  wb::FirstError error;

  // A heartbeat: wake at every tick, note how late.
  auto heartbeat = [&](std::int64_t h) -> asio::awaitable<void> {
    asio::steady_timer tick(io);
    for (std::int64_t k = 0; beats.due(h, k) < beats.end();) {
      wb::event(h, "wait for the tick");
      tick.expires_at(beats.due(h, k));
      co_await tick.async_wait(asio::use_awaitable);
      k = beats.ticked(h, k);
    }
  };

  // A blocker: every every_ms, a blocking operation of block_ms — made one of three ways.
  auto blocker = [&](std::int64_t b) -> asio::awaitable<void> {
    const auto every = std::chrono::duration_cast<Clock::duration>(milliseconds(params.every_ms));
    asio::steady_timer next(io);
    for (std::int64_t k = 0; beats.start() + every * b / params.blockers + every * k < beats.end(); ++k) {
      wb::event(-1, "wait for the next call");
      next.expires_at(beats.start() + every * b / params.blockers + every * k);
      co_await next.async_wait(asio::use_awaitable);
      const wb::Span span(-1, "blocking call");
      Blocking op(params, workload);
      if (variant == "async-blocking") {
        wb::event(-1, "in the blocking call");
        op.step(milliseconds(params.block_ms));  // THE PITFALL: the loop thread is stuck in it
      } else if (variant == "async-offload") {
        auto on_the_pool = [&]() -> asio::awaitable<void> {
          wb::event(-1, "in the blocking call");  // narrated from a pool thread
          op.step(milliseconds(params.block_ms));
          co_return;
        };
        co_await asio::co_spawn(pool, on_the_pool, asio::use_awaitable);  // this coroutine suspends until it is done
      } else {
        wb::event(-1, "in the blocking call");
        while (!op.step(microseconds(params.slice_us)))  // a slice, then let the loop run
          co_await asio::post(io, asio::use_awaitable);
      }
      beats.blocked(op);
    }
  };

  // A coroutine each: the heartbeats, then the blockers.  Exception policy: a failing blocking
  // call (a file that vanished) ends the run with its error.
  for (std::int64_t h = 0; h < params.heartbeats; ++h) asio::co_spawn(io, heartbeat(h), error.handler());
  for (std::int64_t b = 0; b < params.blockers; ++b) asio::co_spawn(io, blocker(b), error.handler());
  io.run();
  pool.join();
  error.rethrow();
  return beats.record(params);
}

}  // namespace blocking_in_the_loop
