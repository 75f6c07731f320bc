// Chapter 00 — how a unit waits, the COROUTINE way, with nothing hidden: the awaitables are
// below, the coroutine type and the run loop in run_loop.hpp.  Twin of sync.cpp: `diff sync.cpp
// async.cpp` is the lesson; asio.cpp is the same scenario on asio::io_context.
//
// Concurrency model: a coroutine per unit, one thread.  `co_await x` asks x.await_ready() (may I
// go on?); if not, the coroutine is suspended — its locals already live in its frame on the
// heap — and x.await_suspend(handle) files the handle where the event will find it; then the
// thread returns to the loop.  The loop resumes a ready handle with handle.resume(): a function
// call into the frame, which runs on from the co_await (x.await_resume()).  No kernel, no
// context switch, and a parked unit is its frame: a few hundred bytes (the promise's operator new
// is told the frame's size).  When nothing is ready, the loop's thread sleeps until the earliest
// timer — the one place this model blocks, as an io_context blocks in epoll_wait.
#include <array>
#include <coroutine>
#include <exception>

#include "chapters/00-how-a-coroutine-waits/run_loop.hpp"
#include "chapters/00-how-a-coroutine-waits/scenario.hpp"

namespace how_a_coroutine_waits {

namespace {

// The turn: whose it is, and the handle of the unit waiting for it.  `co_await turn.mine(me)`.
struct Turn {
  Loop& loop;
  int whose = -1;
  std::coroutine_handle<> waiting[2] = {};

  struct Mine {
    Turn& turn;
    int me;
    bool await_ready() const {
      wb::event(me, "ready? is it my turn");
      return turn.whose == me;
    }
    void await_suspend(std::coroutine_handle<> h) const {
      wb::event(me, "wait for the turn: park");
      turn.waiting[me] = h;  // filed where pass() will find it; the thread goes back to the loop
    }
    void await_resume() const { wb::event(me, "resumed: my turn"); }
  };
  Mine mine(int me) { return {*this, me}; }
  // Gives the turn to `to`; if it is waiting, it becomes ready (the loop resumes it next).
  void pass(int to) {
    whose = to;
    if (const auto h = std::exchange(waiting[to], {})) loop.ready(h);
  }
};

// `co_await sleep_until(loop, when, id)`: a timer in the loop's heap.
struct SleepUntil {
  Loop& loop;
  Clock::time_point when;
  std::int64_t id;
  bool await_ready() const { return false; }
  void await_suspend(std::coroutine_handle<> h) const {
    wb::event(id, "wait for the timer");
    loop.at(when, h);
  }
  void await_resume() const { wb::event(id, "resumed: woken"); }
};

// One unit of the ping-pong: waits for its turn, takes it, passes it on.
Task unit(Turn& turn, int me, const Params& params, Measured& m) {
  for (std::int64_t k = 0; k < params.round_trips; ++k) {
    co_await turn.mine(me);  // suspends this coroutine until pass(me)
    m.take_turn(k, me);
    turn.pass(1 - me);
  }
}

// A parked unit: waits on a timer far in the future, until it is woken.  Its frame holds what
// lives across the co_await: its parameters, the awaiter — and, with --keep 4-kib-across, the
// scratch buffer read after it.  A buffer used only before the co_await (4-kib-before) need not.
template <bool before, bool across>
Task sleeper(Loop& loop, Clock::time_point far, std::int64_t id, Measured& m) {
  char kept = 0;
  if constexpr (before) {
    std::array<char, kScratch> scratch;
    kept = touch(scratch.data(), scratch.size(), id);
  }
  if constexpr (across) {
    std::array<char, kScratch> scratch;
    touch(scratch.data(), scratch.size(), id);
    co_await SleepUntil{loop, far, id};  // suspends this coroutine: its frame is all it holds
    kept = scratch[static_cast<std::size_t>(id) % kScratch];
  } else {
    co_await SleepUntil{loop, far, id};  // suspends this coroutine: its frame is all it holds
  }
  ++m.woken;
  m.kept += kept;
}

Task start_sleeper(const Params& params, Loop& loop, Clock::time_point far, std::int64_t id, Measured& m) {
  if (params.keep == "4-kib-before") return sleeper<true, false>(loop, far, id, m);
  if (params.keep == "4-kib-across") return sleeper<false, true>(loop, far, id, m);
  return sleeper<false, false>(loop, far, id, m);
}

}  // namespace

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  if (run.variant().is("asio")) return run_asio(params, workload, run);
  if (params.pin == "one-core") wb::pin_to_first_cpu();  // as the threads are
  Measured m;
  Loop loop;

  Turn turn{loop};
  for (int me = 0; me < 2; ++me) loop.ready(unit(turn, me, params, m).handle);
  const auto ctx0 = wb::context_switches();
  const auto t0 = Clock::now();
  turn.whose = 0;
  loop.run_ready();  // the ping-pong is over when both units have returned
  m.switch_s = seconds_since(t0);
  m.ctx = wb::context_switches() - ctx0;

  const auto far = Clock::now() + std::chrono::hours(1);
  m.rss_before = rss_bytes();
  for (std::int64_t i = 0; i < params.parked; ++i) loop.ready(start_sleeper(params, loop, far, i + 2, m).handle);
  run.counter("frame_bytes", static_cast<double>(Task::promise_type::last_frame_bytes));
  loop.run_ready();  // every sleeper runs to its co_await and is parked in the timer heap
  m.rss_parked = rss_bytes();
  loop.fire_all_timers();
  loop.run();
  if (Task::promise_type::failure) std::rethrow_exception(Task::promise_type::failure);
  return record(params, run, m);
}

}  // namespace how_a_coroutine_waits
