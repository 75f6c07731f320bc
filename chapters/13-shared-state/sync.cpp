// Chapter 13 — shared state, the BLOCKING ways.  Twin of async.cpp: `diff sync.cpp async.cpp`
// is the lesson: `mutex` here against `async-mutex` there, the same lock taken two ways.  The
// other blocking ways, `atomic` and `sharded`, are in sync_ways.cpp.
//
// Concurrency model: the tasks run on --threads std::threads (thread i takes tasks i,
// i + threads, ...; each thread interleaves its tasks' updates).
#include <atomic>
#include <exception>
#include <mutex>

#include "chapters/13-shared-state/scenario.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"
#include "common/trace.hpp"

namespace shared_state {

namespace {

// mutex: the owner's std::mutex around each update.  A thread that finds it taken blocks in the
// kernel until it is free (after a short spin): the thread runs nothing else meanwhile.
class MutexWay final : public SyncWay {
 public:
  explicit MutexWay(const Workload& workload)
      : workload_(workload), mutexes_(static_cast<std::size_t>(workload.owners())) {}

  void update(std::vector<std::int64_t>& state, std::int64_t task, const Op& op) override {
    auto& mutex = mutexes_[static_cast<std::size_t>(workload_.owner(task))];
    if (!mutex.try_lock()) {  // free: taken at once
      waits.fetch_add(1, std::memory_order_relaxed);
      mutex.lock();  // taken: block until it is free
    }
    apply_op(state, op);
    mutex.unlock();
  }

 private:
  const Workload& workload_;
  std::vector<PaddedMutex> mutexes_;
};

}  // namespace

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  if (params.pitfall == "on") return run_pitfall(params, run);  // pitfall.cpp
  const std::string& variant = run.variant().name();
  const std::unique_ptr<SyncWay> way = variant == "mutex" ? std::make_unique<MutexWay>(workload)
                                                          : other_sync_way(variant, params, workload);  // sync_ways.cpp
  std::vector<std::int64_t> state(static_cast<std::size_t>(workload.slots()), workload.start_balance());
  wb::FirstError error;  // exception policy: the first failure ends the run

  // A thread runs its tasks, one update of each in turn.
  auto worker = [&](std::int64_t i) {
    for (std::int64_t k = 0; k < params.ops; ++k)
      for (std::int64_t task = i; task < params.tasks; task += params.threads) {
        wb::event(task, "wait for the state");  // where each way makes the update safe
        way->update(state, task, workload.op(task, k));
      }
  };

  const auto t0 = Clock::now();
  wb::run_on_threads(params.threads, worker, error.handler());
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  error.rethrow();
  way->finish(state);
  return workload.record(state, seconds, way->waits.load(), run);
}

}  // namespace shared_state
