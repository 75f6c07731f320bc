// Chapter 10 — scheduling costs, variant `threads`: a std::thread per unit.  Twin of
// async.cpp and stackful.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: every unit is a kernel thread.  Handing the turn to another unit is a
// system call that puts this thread to sleep and wakes the other (a futex under the condition
// variable, a pipe's read and write); the kernel saves one thread's registers and loads the
// other's.  Creating one is clone(2) plus an 8 MiB stack mapping; parking one keeps its stack
// pages, its kernel stack and its task structures.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

#include "chapters/10-scheduling-costs/scenario.hpp"
#include "common/trace.hpp"

namespace scheduling_costs {

namespace {

// switch via notify: two units pass the turn through a mutex and a condition variable.
wb::Outcome notify(const Params& params, wb::Run& run) {
  pin_if_asked(params);
  std::mutex mu;
  std::condition_variable changed;
  int turn = -1;  // whose turn: none until both units are running
  std::uint64_t passes = 0;
  auto unit = [&](int me) {
    for (std::int64_t k = 0; k < params.round_trips; ++k) {
      std::unique_lock lock(mu);
      wb::event(me, "wait for the turn");
      changed.wait(lock, [&] { return turn == me; });
      ++passes;
      turn = 1 - me;
      changed.notify_one();
    }
  };
  std::vector<std::thread> units;
  for (int me = 0; me < 2; ++me) units.emplace_back(unit, me);
  const auto ctx0 = context_switches();
  const auto t0 = Clock::now();
  {
    const std::lock_guard lock(mu);
    turn = 0;
  }
  changed.notify_all();
  for (auto& u : units) u.join();
  return record_switch(params, run, seconds_since(t0), context_switches() - ctx0, passes);
}

// switch via ring: each unit blocks reading a byte from its pipe, then writes it into the next
// unit's.
wb::Outcome ring(const Params& params, wb::Run& run, std::int64_t size) {
  pin_if_asked(params);
  const Pipes inbox(size, /*nonblocking=*/false);
  std::atomic<std::uint64_t> passes{0};
  auto unit = [&](std::int64_t me) {
    char byte = 0;
    for (std::int64_t k = 0; k < hops_of(me, size, switches(params)); ++k) {
      wb::event(me, "wait for the turn");
      if (::read(inbox.read_end(me), &byte, 1) != 1) throw std::system_error(errno, std::generic_category(), "read");
      passes.fetch_add(1, std::memory_order_relaxed);
      if (::write(inbox.write_end((me + 1) % size), &byte, 1) != 1)
        throw std::system_error(errno, std::generic_category(), "write");
    }
  };
  std::vector<std::thread> units;
  for (std::int64_t me = 0; me < size; ++me) units.emplace_back(unit, me);
  const auto ctx0 = context_switches();
  const auto t0 = Clock::now();
  const char token = 't';
  if (::write(inbox.write_end(0), &token, 1) != 1) throw std::system_error(errno, std::generic_category(), "write");
  for (auto& u : units) u.join();
  return record_switch(params, run, seconds_since(t0), context_switches() - ctx0, passes.load());
}

// switch via direct: a ring of two — each unit hands the byte straight to the other's pipe.
wb::Outcome direct(const Params& params, wb::Run& run) { return ring(params, run, 2); }

// spawn: create --batch units, each does --work-ns of work, wait for them all; --spawns in all.
wb::Outcome spawn(const Params& params, wb::Run& run) {
  std::atomic<std::uint64_t> sink{0};
  auto t0 = Clock::now();
  for (std::int64_t id = 0; id < params.spawns; ++id) sink += work(params.work_ns, static_cast<std::uint64_t>(id));
  const double inline_s = seconds_since(t0);

  std::atomic<std::uint64_t> sum{0};
  auto unit = [&](std::int64_t id) {
    sink.fetch_add(work(params.work_ns, static_cast<std::uint64_t>(id)), std::memory_order_relaxed);
    sum.fetch_add(static_cast<std::uint64_t>(id), std::memory_order_relaxed);
  };
  t0 = Clock::now();
  for (std::int64_t first = 0; first < params.spawns; first += params.batch) {
    std::vector<std::thread> units;
    for (std::int64_t id = first; id < std::min(params.spawns, first + params.batch); ++id)
      units.emplace_back(unit, id);
    wb::event(-1, "wait for the units");
    for (auto& u : units) u.join();
  }
  return record_spawn(params, run, inline_s, seconds_since(t0), sum.load());
}

// memory, ceiling: units wait on one condition variable until released.
wb::Outcome park(const Params& params, wb::Run& run) {
  std::mutex mu;
  std::condition_variable release, arrived;  // two, so an arrival does not wake every parked unit
  bool released = false;
  std::int64_t waiting = 0;
  std::int64_t finished = 0;
  auto unit = [&] {
    std::unique_lock lock(mu);
    ++waiting;
    arrived.notify_one();
    wb::event(-1, "park");
    release.wait(lock, [&] { return released; });
    ++finished;
  };
  std::vector<std::thread> units;
  Parking parking(params, "threads");
  parking.grow([&] { return units.emplace_back(unit), true; },
               [&](std::int64_t n) {
                 std::unique_lock lock(mu);
                 arrived.wait(lock, [&] { return waiting == n; });
               });
  {
    const std::lock_guard lock(mu);
    released = true;
  }
  release.notify_all();
  for (auto& u : units) u.join();
  return parking.record(run, finished);
}

}  // namespace

wb::Outcome run_sync(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  if (params.scenario == "switch")
    return params.via == "notify"   ? notify(params, run)
           : params.via == "direct" ? direct(params, run)
                                    : ring(params, run, params.ring);
  if (params.scenario == "spawn") return spawn(params, run);
  return park(params, run);
}

}  // namespace scheduling_costs
