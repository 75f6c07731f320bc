// Chapter 13 — shared state, the ASYNC ways (variants `strand`, `actor`, `async-mutex`,
// `channel-lock`).  Twin of sync.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a coroutine per task on an io_context run by --threads threads.  Nothing
// here blocks a thread: a task that must wait for the state suspends, and the thread runs
// another task meanwhile.
//   strand       the update is posted to the state's strand (one handler at a time): the task
//                moves there, updates, and its next update posts again;
//   actor        the state belongs to one owner coroutine; a task sends it the update through a
//                channel (suspending only while the mailbox is full) and goes on;
//   async-mutex  the lock is an AsyncMutex (async_mutex.hpp): taken with one compare-exchange
//                when free; when taken, the task suspends in its queue until an unlock hands it
//                over and resumes it through the io_context;
//   channel-lock a concurrent_channel of capacity 1 as the lock, the usual stand-in where a
//                library has no async mutex: async_send acquires (suspends while another holds
//                it), try_receive releases — every one of them under the channel's own mutex.
#include <atomic>
#include <exception>
#include <memory>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/13-shared-state/async_mutex.hpp"
#include "chapters/13-shared-state/scenario.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"
#include "common/trace.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;
using boost::system::error_code;

namespace shared_state {

using Clock = std::chrono::steady_clock;
using Lock = asio::experimental::concurrent_channel<void(error_code)>;
using Mailbox = asio::experimental::concurrent_channel<void(error_code, Op)>;

wb::Outcome run_async(const Params& params, const Workload& w, wb::Run& run) {
  if (params.pitfall == "on") return run_pitfall(params, run);  // pitfall.cpp
  const std::string& variant = run.variant().name();
  asio::io_context io(static_cast<int>(params.threads));
  std::vector<std::int64_t> state(static_cast<std::size_t>(w.slots()), w.start_balance());
  std::vector<asio::strand<asio::io_context::executor_type>> strands;
  std::vector<std::unique_ptr<AsyncMutex>> mutexes;
  std::vector<std::unique_ptr<Lock>> locks;
  std::vector<std::unique_ptr<Mailbox>> mailboxes;
  for (std::int64_t o = 0; o < w.owners(); ++o) {
    strands.push_back(asio::make_strand(io));
    mutexes.push_back(std::make_unique<AsyncMutex>());
    locks.push_back(std::make_unique<Lock>(io, 1));
    mailboxes.push_back(std::make_unique<Mailbox>(io, 256));
  }
  std::atomic<std::int64_t> waits{0};
  wb::FirstError error;  // from any of --threads threads

  // One update, made safe the variant's way.
  auto update = [&](std::int64_t task, const Op& op) -> asio::awaitable<void> {
    wb::event(task, "wait for the state");  // where each way makes the update safe
    if (variant == "strand") {
      co_await asio::post(asio::bind_executor(strands[static_cast<std::size_t>(w.owner(task))], use_awaitable));
      apply(state, op);  // on the strand: no other update of this state runs now
    } else if (variant == "async-mutex") {
      auto& mutex = *mutexes[static_cast<std::size_t>(w.owner(task))];
      if (!mutex.try_lock()) {  // free: taken with one compare-exchange, no suspension
        waits.fetch_add(1, std::memory_order_relaxed);
        co_await mutex.async_lock(use_awaitable);  // taken: suspend until it is handed over
      }
      apply(state, op);
      mutex.unlock();
    } else if (variant == "channel-lock") {
      auto& lock = *locks[static_cast<std::size_t>(w.owner(task))];
      if (!lock.try_send(error_code{})) {  // the channel has room: taken, no suspension
        waits.fetch_add(1, std::memory_order_relaxed);
        co_await lock.async_send(error_code{}, use_awaitable);  // full: suspend until a receive
      }
      apply(state, op);
      lock.try_receive([](error_code) {});
    } else {  // actor: hand the update to the owner
      auto& mailbox = *mailboxes[static_cast<std::size_t>(w.owner(task))];
      if (mailbox.try_send(error_code{}, op)) co_return;
      waits.fetch_add(1, std::memory_order_relaxed);
      co_await mailbox.async_send(error_code{}, op, use_awaitable);
    }
  };

  // A task: its updates, one after the other.
  auto task = [&](std::int64_t t) -> asio::awaitable<void> {
    for (std::int64_t k = 0; k < params.ops; ++k) {
      const Op op = w.op(t, k);
      co_await update(t, op);
    }
  };

  // actor: the owner applies every update its tasks send, then ends.
  auto owner = [&](std::int64_t o) -> asio::awaitable<void> {
    const auto expected = params.ops * (w.owners() == 1 ? params.tasks : 1);
    for (std::int64_t i = 0; i < expected; ++i) {
      const Op op = co_await mailboxes[static_cast<std::size_t>(o)]->async_receive(use_awaitable);
      apply(state, op);
    }
  };

  // Exception policy: the first exception a task throws ends the run with it.
  const auto t0 = Clock::now();
  if (variant == "actor")
    for (std::int64_t o = 0; o < w.owners(); ++o) asio::co_spawn(io, owner(o), error.handler());
  for (std::int64_t t = 0; t < params.tasks; ++t) asio::co_spawn(io, task(t), error.handler());
  wb::run_on_threads(
      params.threads, [&](std::int64_t) { io.run(); }, error.handler());
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  error.rethrow();
  return w.record(state, seconds, waits.load(), run);
}

}  // namespace shared_state
