// Chapter 00 — how a unit waits, the BLOCKING way: a thread parks on a condition variable, and
// another thread's notify wakes it.  Twin of async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a std::thread per unit; the kernel schedules them.  To wait, a unit checks
// whether it may go on (the predicate: async.cpp's await_ready), and if not, parks its thread
// (condition_variable::wait: a futex wait, the thread leaves the CPU: async.cpp's
// await_suspend).  Another thread's notify makes it runnable again, and the kernel's scheduler
// switches to it (async.cpp's loop resuming a handle).  Each parked unit keeps a whole thread:
// its stack (touched pages in RSS) and its kernel task.
#include <array>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "chapters/00-how-a-coroutine-waits/scenario.hpp"

namespace how_a_coroutine_waits {

namespace {

// --keep 4-kib-before: a buffer used, then gone before the wait.
__attribute__((noinline)) char use_before(std::int64_t id) {
  std::array<char, kScratch> scratch;
  return touch(scratch.data(), scratch.size(), id);
}

// --keep 4-kib-across: a buffer used after the wait: it stays on the parked thread's stack.
template <class Park>
__attribute__((noinline)) char keep_across(std::int64_t id, Park& park) {
  std::array<char, kScratch> scratch;
  touch(scratch.data(), scratch.size(), id);
  park(id);
  return scratch[static_cast<std::size_t>(id) % kScratch];
}

}  // namespace

wb::Outcome run_sync(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  if (params.pin == "one-core") wb::pin_to_first_cpu();  // every thread started below, too
  Measured m;

  // The turn: whose it is, and a condition variable to park on until it is mine.
  std::mutex mu;
  std::condition_variable turn_changed;
  int whose = -1;  // nobody's until both units are started
  // One unit of the ping-pong: waits for its turn, takes it, passes it on.
  auto unit = [&](int me) {
    for (std::int64_t k = 0; k < params.round_trips; ++k) {
      std::unique_lock lock(mu);
      wb::event(me, "ready? is it my turn");
      if (whose != me) wb::event(me, "wait for the turn: park");
      turn_changed.wait(lock, [&] { return whose == me; });  // parks this thread in the kernel
      wb::event(me, "resumed: my turn");
      m.take_turn(k, me);
      whose = 1 - me;
      turn_changed.notify_one();  // the other thread becomes runnable; the kernel switches to it
    }
  };
  std::vector<std::thread> units;
  for (int me = 0; me < 2; ++me) units.emplace_back(unit, me);
  const auto ctx0 = wb::context_switches();
  const auto t0 = Clock::now();
  {
    const std::lock_guard lock(mu);
    whose = 0;
  }
  turn_changed.notify_all();
  for (auto& u : units) u.join();  // the ping-pong is over when both units have returned
  m.switch_s = seconds_since(t0);
  m.ctx = wb::context_switches() - ctx0;

  // Parked units: each waits on a timer far in the future, until it is woken.
  const auto far = Clock::now() + std::chrono::hours(1);
  std::condition_variable timers;  // "the timers fire": notify_all
  bool wake = false;
  std::int64_t parked = 0;
  std::condition_variable parked_changed;
  auto park = [&](std::int64_t id) {
    std::unique_lock lock(mu);
    ++parked;
    parked_changed.notify_one();
    wb::event(id, "wait for the timer");
    timers.wait_until(lock, far, [&] { return wake; });  // parks this thread
    wb::event(id, "resumed: woken");
    ++m.woken;
  };
  auto sleeper = [&](std::int64_t id) {
    char kept = 0;
    if (params.keep == "4-kib-before") kept = use_before(id);
    if (params.keep == "4-kib-across")
      kept = keep_across(id, park);
    else
      park(id);
    const std::lock_guard lock(mu);
    m.kept += kept;
  };
  m.rss_before = rss_bytes();
  std::vector<std::thread> sleepers;
  sleepers.reserve(static_cast<std::size_t>(params.parked));
  std::exception_ptr refused;
  for (std::int64_t i = 0; i < params.parked && !refused; ++i) {
    try {
      sleepers.emplace_back(sleeper, i + 2);
    } catch (const std::system_error& e) {  // the thread ceiling: wake the others, then say so
      refused = std::make_exception_ptr(wb::thread_refused(sleepers.size() + 1, params.parked, e));
    }
  }
  {
    std::unique_lock lock(mu);
    parked_changed.wait(lock, [&] { return parked == static_cast<std::int64_t>(sleepers.size()); });
    m.rss_parked = rss_bytes();  // every sleeper has started and waits
    wake = true;
  }
  timers.notify_all();  // the timers fire: every sleeper becomes runnable
  for (auto& s : sleepers) s.join();
  if (refused) std::rethrow_exception(refused);
  return record(params, run, m);
}

}  // namespace how_a_coroutine_waits
