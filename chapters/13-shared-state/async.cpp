// Chapter 13 — shared state, the ASYNC ways.  Twin of sync.cpp: `diff sync.cpp async.cpp`
// is the lesson: `async-mutex` here against `mutex` there, the same lock taken two ways.  The
// other async ways, `strand`, `actor` and `channel-lock`, are in async_ways.cpp.
//
// Concurrency model: a coroutine per task on an io_context run by --threads threads.
#include <atomic>
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/13-shared-state/async_mutex.hpp"
#include "chapters/13-shared-state/async_ways.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"
#include "common/trace.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;

namespace shared_state {

namespace {

// async-mutex: the owner's AsyncMutex (async_mutex.hpp) around each update.  A task that finds
// it taken suspends in its queue until an unlock hands it over: the thread runs another task.
class AsyncMutexWay final : public AsyncWay {
 public:
  explicit AsyncMutexWay(const Workload& workload)
      : workload_(workload), mutexes_(static_cast<std::size_t>(workload.owners())) {}

  asio::awaitable<void> update(std::vector<std::int64_t>& state, std::int64_t task, Op op) override {
    auto& mutex = mutexes_[static_cast<std::size_t>(workload_.owner(task))];
    if (!mutex.try_lock()) {  // free: taken with one compare-exchange, no suspension
      waits.fetch_add(1, std::memory_order_relaxed);
      co_await mutex.async_lock(use_awaitable);  // taken: suspend until it is handed over
    }
    apply_op(state, op);
    mutex.unlock();
  }

 private:
  const Workload& workload_;
  std::vector<AsyncMutex> mutexes_;
};

}  // namespace

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  if (params.pitfall == "on") return run_pitfall(params, run);  // pitfall.cpp
  const std::string& variant = run.variant().name();
  asio::io_context io(static_cast<int>(params.threads));
  const std::unique_ptr<AsyncWay> way = variant == "async-mutex"
                                            ? std::make_unique<AsyncMutexWay>(workload)
                                            : other_async_way(variant, io, params, workload);  // async_ways.cpp
  std::vector<std::int64_t> state(static_cast<std::size_t>(workload.slots()), workload.start_balance());
  wb::FirstError error;  // exception policy: the first failure ends the run

  // A task: its updates, one after the other.
  auto task = [&](std::int64_t t) -> asio::awaitable<void> {
    for (std::int64_t k = 0; k < params.ops; ++k) {
      wb::event(t, "wait for the state");  // where each way makes the update safe
      co_await way->update(state, t, workload.op(t, k));
    }
  };

  const auto t0 = Clock::now();
  way->start(state, error);  // actor: the owners
  for (std::int64_t t = 0; t < params.tasks; ++t) asio::co_spawn(io, task(t), error.handler());
  wb::run_on_threads(
      params.threads, [&](std::int64_t) { io.run(); }, error.handler());
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  error.rethrow();
  return workload.record(state, seconds, way->waits.load(), run);
}

}  // namespace shared_state
