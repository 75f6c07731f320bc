// Chapter 10 — scheduling costs, variant `stackless`: an Asio C++20 coroutine per unit.  Twin of
// sync.cpp and stackful.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: every unit is a coroutine whose frame — the variables that live across a
// co_await, no stack — is on the heap; the io_context resumes one at a time on this one thread.
// Handing the turn to another unit is a function return into the io_context's queue and a call
// into the next frame: no system call, no kernel switch (unless there is nothing to run and the
// thread waits for I/O).  Creating one is a heap allocation; parking one keeps its frame and
// the operation it waits on.
#include <atomic>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "chapters/10-scheduling-costs/scenario.hpp"
#include "common/trace.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;
using Channel = asio::experimental::channel<void(boost::system::error_code)>;

namespace scheduling_costs {

namespace {

// switch via notify: two units pass the turn through a channel each (one buffered message).
wb::Outcome notify(const Params& params, wb::Run& run) {
  pin_if_asked(params);
  asio::io_context io(1);
  Channel inbox[2] = {Channel(io, 1), Channel(io, 1)};
  std::uint64_t passes = 0;
  wb::FirstError error;
  auto unit = [&](int me) -> asio::awaitable<void> {
    for (std::int64_t k = 0; k < params.round_trips; ++k) {
      wb::event(me, "wait for the turn");
      co_await inbox[me].async_receive(use_awaitable);
      ++passes;
      inbox[1 - me].try_send(boost::system::error_code{});
    }
  };
  for (int me = 0; me < 2; ++me) asio::co_spawn(io, unit(me), error.handler());
  const auto ctx0 = context_switches();
  const auto t0 = Clock::now();
  inbox[0].try_send(boost::system::error_code{});
  io.run();
  error.rethrow();
  return record_switch(params, run, seconds_since(t0), context_switches() - ctx0, passes);
}

// switch via ring: each unit waits until its pipe is readable (epoll), reads the byte, writes
// it into the next unit's pipe.
wb::Outcome ring(const Params& params, wb::Run& run, std::int64_t size) {
  pin_if_asked(params);
  asio::io_context io(1);
  Pipes inbox(size, /*nonblocking=*/true);
  std::vector<asio::posix::stream_descriptor> reads, writes;
  for (std::int64_t i = 0; i < size; ++i) {
    reads.emplace_back(io, inbox.release(static_cast<std::size_t>(2 * i)));
    writes.emplace_back(io, inbox.release(static_cast<std::size_t>(2 * i + 1)));
  }
  std::uint64_t passes = 0;
  wb::FirstError error;
  auto unit = [&](std::int64_t me) -> asio::awaitable<void> {
    char byte = 0;
    for (std::int64_t k = 0; k < hops_of(me, size, switches(params)); ++k) {
      wb::event(me, "wait for the turn");
      co_await reads[static_cast<std::size_t>(me)].async_read_some(asio::buffer(&byte, 1), use_awaitable);
      ++passes;
      co_await writes[static_cast<std::size_t>((me + 1) % size)].async_write_some(asio::buffer(&byte, 1),
                                                                                  use_awaitable);
    }
  };
  for (std::int64_t me = 0; me < size; ++me) asio::co_spawn(io, unit(me), error.handler());
  const auto ctx0 = context_switches();
  const auto t0 = Clock::now();
  const char token = 't';
  asio::write(writes[0], asio::buffer(&token, 1));
  io.run();
  error.rethrow();
  return record_switch(params, run, seconds_since(t0), context_switches() - ctx0, passes);
}

// switch via direct: each unit yields the thread with co_await post(...); the io_context's
// queue is first in, first out, so the two take turns.
wb::Outcome direct(const Params& params, wb::Run& run) {
  pin_if_asked(params);
  asio::io_context io(1);
  std::uint64_t passes = 0;
  wb::FirstError error;
  auto unit = [&](int me) -> asio::awaitable<void> {
    for (std::int64_t k = 0; k < params.round_trips; ++k) {
      wb::event(me, "wait for the turn");
      co_await asio::post(io, use_awaitable);
      ++passes;
    }
  };
  for (int me = 0; me < 2; ++me) asio::co_spawn(io, unit(me), error.handler());
  const auto ctx0 = context_switches();
  const auto t0 = Clock::now();
  io.run();
  error.rethrow();
  return record_switch(params, run, seconds_since(t0), context_switches() - ctx0, passes);
}

// spawn: create --batch units, each does --work-ns of work, wait for them all; --spawns in all.
wb::Outcome spawn(const Params& params, wb::Run& run) {
  std::atomic<std::uint64_t> sink{0};
  auto t0 = Clock::now();
  for (std::int64_t id = 0; id < params.spawns; ++id) sink += work(params.work_ns, static_cast<std::uint64_t>(id));
  const double inline_s = seconds_since(t0);

  asio::io_context io(1);
  Channel done(io, static_cast<std::size_t>(params.batch));  // "joined": one message per finished unit
  std::uint64_t sum = 0;
  wb::FirstError error;
  auto unit = [&](std::int64_t id) -> asio::awaitable<void> {
    sink.fetch_add(work(params.work_ns, static_cast<std::uint64_t>(id)), std::memory_order_relaxed);
    sum += static_cast<std::uint64_t>(id);
    co_return;
  };
  auto spawner = [&]() -> asio::awaitable<void> {
    for (std::int64_t first = 0; first < params.spawns; first += params.batch) {
      const auto last = std::min(params.spawns, first + params.batch);
      for (std::int64_t id = first; id < last; ++id)
        asio::co_spawn(io, unit(id), [&](std::exception_ptr e) {
          error.handler()(e);
          done.try_send(boost::system::error_code{});
        });
      wb::event(-1, "wait for the units");
      for (std::int64_t id = first; id < last; ++id) co_await done.async_receive(use_awaitable);
    }
  };
  t0 = Clock::now();
  asio::co_spawn(io, spawner(), error.handler());
  io.run();
  error.rethrow();
  return record_spawn(params, run, inline_s, seconds_since(t0), sum);
}

// memory, ceiling: units wait on one timer that never expires (or one channel) until released.
wb::Outcome park(const Params& params, wb::Run& run) {
  asio::io_context io(1);
  asio::steady_timer release(io, asio::steady_timer::time_point::max());
  Channel closing(io);
  std::int64_t finished = 0;
  wb::FirstError error;
  auto unit = [&]() -> asio::awaitable<void> {
    wb::event(-1, "park");
    if (params.park_on == "timer")
      co_await release.async_wait(asio::as_tuple(use_awaitable));  // operation_aborted: released
    else
      co_await closing.async_receive(asio::as_tuple(use_awaitable));  // channel_closed: released
    ++finished;
  };
  Parking parking(params, "stackless");
  parking.grow([&] { return asio::co_spawn(io, unit(), error.handler()), true; },
               [&](std::int64_t) { io.poll(); });  // each new unit runs to its co_await
  release.cancel();
  closing.close();
  io.run();
  error.rethrow();
  return parking.record(run, finished);
}

}  // namespace

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  if (run.variant().is("stackful"))
    return run_stackful(params, workload, run);  // stackful.cpp: the same, on asio::spawn
  if (params.scenario == "switch")
    return params.via == "notify"   ? notify(params, run)
           : params.via == "direct" ? direct(params, run)
                                    : ring(params, run, params.ring);
  if (params.scenario == "spawn") return spawn(params, run);
  return park(params, run);
}

}  // namespace scheduling_costs
