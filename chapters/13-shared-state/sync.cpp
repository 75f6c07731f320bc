// Chapter 13 — shared state, the BLOCKING ways (variants `mutex`, `atomic`, `sharded`).  Twin of
// async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: the tasks run on --threads std::threads (thread i takes tasks i,
// i + threads, ...; each thread interleaves its tasks' updates).  A thread that finds the lock
// taken blocks in the kernel until it is free (after a short spin); an atomic never blocks —
// the cache line moves between cores instead.
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

#include "chapters/13-shared-state/scenario.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"
#include "common/trace.hpp"

namespace shared_state {

using Clock = std::chrono::steady_clock;

wb::Outcome run_sync(const Params& params, const Workload& w, wb::Run& run) {
  if (params.pitfall == "on") return run_pitfall(params, run);  // pitfall.cpp
  const std::string& variant = run.variant().name();
  std::vector<std::int64_t> state(static_cast<std::size_t>(w.slots()), w.start_balance());
  std::vector<std::atomic<std::int64_t>> atomics(static_cast<std::size_t>(w.slots()));
  for (auto& a : atomics) a = w.start_balance();
  struct alignas(64) Lock {  // a cache line each: locks of different threads do not share one
    std::mutex m;
  };
  std::vector<Lock> padded(static_cast<std::size_t>(variant == "sharded" ? params.shards : w.owners()));
  auto lock_at = [&](std::size_t i) -> std::mutex& { return padded[i].m; };
  std::atomic<std::int64_t> waits{0};
  wb::FirstError error;  // a thread the OS refused

  // Takes a lock, counting the times it was taken already.
  auto take = [&](std::mutex& m) {
    if (m.try_lock()) return;
    waits.fetch_add(1, std::memory_order_relaxed);
    m.lock();
  };

  // One update, made safe the variant's way.
  auto update = [&](std::int64_t task, const Op& op) {
    wb::event(task, "wait for the state");  // where each way makes the update safe
    if (variant == "atomic") {
      if (op.from >= 0) atomics[static_cast<std::size_t>(op.from)].fetch_sub(op.amount, std::memory_order_relaxed);
      atomics[static_cast<std::size_t>(op.to)].fetch_add(op.amount, std::memory_order_relaxed);
    } else if (variant == "mutex") {
      auto& lock = lock_at(static_cast<std::size_t>(w.owner(task)));
      take(lock);
      apply(state, op);
      lock.unlock();
    } else {  // sharded: the shards of both slots, taken in index order so two transfers cannot deadlock
      const auto a = static_cast<std::size_t>(op.to % params.shards);
      const auto b = static_cast<std::size_t>(op.from >= 0 ? op.from % params.shards : op.to % params.shards);
      take(lock_at(std::min(a, b)));
      if (a != b) take(lock_at(std::max(a, b)));
      apply(state, op);
      if (a != b) lock_at(std::max(a, b)).unlock();
      lock_at(std::min(a, b)).unlock();
    }
  };

  // A thread runs its tasks, one update of each in turn.
  auto worker = [&](std::int64_t i) {
    for (std::int64_t k = 0; k < params.ops; ++k)
      for (std::int64_t task = i; task < params.tasks; task += params.threads) update(task, w.op(task, k));
  };

  const auto t0 = Clock::now();
  wb::run_on_threads(params.threads, worker, error.handler());
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  error.rethrow();
  if (variant == "atomic")
    for (std::size_t s = 0; s < state.size(); ++s) state[s] = atomics[s].load();
  return w.record(state, seconds, waits.load(), run);
}

}  // namespace shared_state
