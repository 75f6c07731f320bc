// Chapter 13 — the pitfall (§25): a lock held across a suspension point.
//
// Two coroutines on an io_context, each in a loop: take the state, co_await a 1 ms timer, update,
// let go.  With a std::mutex (variants mutex and sharded) task 0 takes the mutex and suspends at
// its co_await *holding it*; the thread goes on to task 1, which calls mutex.lock() — a blocking
// call — and so blocks the thread.  With one thread running the io_context, that was the only
// thread that could resume task 0 and unlock: a deadlock, silent, with no CPU used.  With two
// threads, the second resumes task 0, which unlocks, and task 1 goes on: a stall of a thread for
// the length of the wait, not a deadlock — and undefined behaviour, since task 0 may resume on
// the other thread and unlock a std::mutex that thread never locked (ThreadSanitizer says so).
//
// The cures, as the other variants hold the state across the same wait: an asynchronous lock
// (async-mutex, channel-lock: a task that must wait for it suspends instead of blocking the
// thread), or no lock held while waiting at all — the update sent to the state's strand or to
// its owner (strand, actor: message passing), or one atomic add (atomic).
//
// It runs in a child process, watched: a byte per update comes through a pipe, and no byte for
// --watchdog-ms means the child is deadlocked.  The watchdog then says so and kills the child;
// the trial records the finding (deadlocked, updates made) and the runner and the tests never
// hang on it.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/13-shared-state/async_mutex.hpp"
#include "chapters/13-shared-state/scenario.hpp"
#include "common/digest.hpp"

namespace asio = boost::asio;

namespace shared_state {

namespace {

constexpr int kRounds = 20;  // updates per task when nothing deadlocks
constexpr int kTasks = 2;

using Lock = asio::experimental::channel<void(boost::system::error_code)>;
using Mailbox = asio::experimental::channel<void(boost::system::error_code, int)>;

// The child: two tasks holding the state across a co_await, the variant's way; a byte down
// `progress` per update.
[[noreturn]] void pitfall_child(const Params& params, const std::string& variant, int progress) {
  asio::io_context io(static_cast<int>(params.threads));
  std::mutex mu;                        // mutex, sharded
  AsyncMutex async_mu;                  // async-mutex
  Lock lock(io, 1);                     // channel-lock: a channel of capacity 1
  auto strand = asio::make_strand(io);  // strand
  Mailbox mailbox(io, 1);               // actor
  std::atomic<std::int64_t> total{0};   // the state
  const auto made = [&](int me) {
    const char byte = static_cast<char>(me);
    if (::write(progress, &byte, 1) != 1) std::_Exit(3);
  };
  auto task = [&](int me) -> asio::awaitable<void> {
    asio::steady_timer wait(io);
    for (int k = 0; k < kRounds; ++k) {
      wait.expires_after(std::chrono::milliseconds(1));
      if (variant == "mutex" || variant == "sharded") {
        std::fprintf(stderr, "  task %d: mutex.lock() on thread %d\n", me, static_cast<int>(gettid()));
        std::unique_lock held(mu);  // THE PITFALL: blocks the thread when the other task holds it
        std::fprintf(stderr, "  task %d: holds the mutex, co_await a timer\n", me);
        co_await wait.async_wait(asio::use_awaitable);  // ... and suspends still holding it
        total.fetch_add(1, std::memory_order_relaxed);
      } else if (variant == "async-mutex") {
        std::fprintf(stderr, "  task %d: co_await async_lock() on thread %d\n", me, static_cast<int>(gettid()));
        if (!async_mu.try_lock()) co_await async_mu.async_lock(asio::use_awaitable);  // suspends while held
        std::fprintf(stderr, "  task %d: holds the async mutex, co_await a timer\n", me);
        co_await wait.async_wait(asio::use_awaitable);  // the other task is suspended, the thread free
        total.fetch_add(1, std::memory_order_relaxed);
        async_mu.unlock();
      } else if (variant == "channel-lock") {
        std::fprintf(stderr, "  task %d: co_await lock.async_send() on thread %d\n", me, static_cast<int>(gettid()));
        co_await lock.async_send(boost::system::error_code{}, asio::use_awaitable);  // suspends while held
        std::fprintf(stderr, "  task %d: holds the async lock, co_await a timer\n", me);
        co_await wait.async_wait(asio::use_awaitable);  // the other task is suspended, the thread free
        total.fetch_add(1, std::memory_order_relaxed);
        lock.try_receive([](boost::system::error_code) {});
      } else if (variant == "strand") {
        co_await asio::post(asio::bind_executor(strand, asio::use_awaitable));  // the update, on the strand
        total.fetch_add(1, std::memory_order_relaxed);
        co_await wait.async_wait(asio::use_awaitable);  // waiting holds nothing
      } else if (variant == "actor") {
        co_await mailbox.async_send(boost::system::error_code{}, 1, asio::use_awaitable);  // the owner updates
        co_await wait.async_wait(asio::use_awaitable);
      } else {  // atomic
        total.fetch_add(1, std::memory_order_relaxed);
        co_await wait.async_wait(asio::use_awaitable);
      }
      if (variant != "actor") made(me);
    }
  };
  // The actor's owner: applies each message it receives.
  auto owner = [&]() -> asio::awaitable<void> {
    for (int n = 0; n < kTasks * kRounds; ++n) {
      total.fetch_add(co_await mailbox.async_receive(asio::use_awaitable), std::memory_order_relaxed);
      made(0);
    }
  };
  // Exception policy: a throw in the child ends it with exit 4, which the parent reports.
  const auto fail = [](std::exception_ptr e) {
    if (e) std::_Exit(4);
  };
  for (int me = 0; me < kTasks; ++me) asio::co_spawn(io, task(me), fail);
  if (variant == "actor") asio::co_spawn(io, owner(), fail);
  std::vector<std::thread> extra;
  for (std::int64_t i = 1; i < params.threads; ++i) extra.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : extra) t.join();
  std::_Exit(0);
}

}  // namespace

wb::Outcome run_pitfall(const Params& params, wb::Run& run) {
  const std::string& variant = run.variant().name();
  std::fprintf(stderr,
               "pitfall, %s: two tasks hold the state across a co_await, %lld thread(s) run the io_context; "
               "watchdog %lld ms\n",
               variant.c_str(), static_cast<long long>(params.threads), static_cast<long long>(params.watchdog_ms));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t child = ::fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    ::close(fds[0]);
    pitfall_child(params, variant, fds[1]);
  }
  ::close(fds[1]);
  int updates = 0;
  bool deadlocked = false;
  for (;;) {
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(params.watchdog_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      deadlocked = true;
      break;
    }
    char byte;
    if (::read(fds[0], &byte, 1) != 1) break;  // the child ended: the pipe closed
    ++updates;
  }
  ::close(fds[0]);
  if (deadlocked) ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const bool finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!deadlocked && !finished)
    throw std::runtime_error("the pitfall's child ended abnormally (status " + std::to_string(status) + ") after " +
                             std::to_string(updates) + " updates");
  if (deadlocked) {
    std::fprintf(stderr,
                 "deadlock: %d of %d updates made, then none for %lld ms — one task holds the mutex while "
                 "suspended, the other blocks the only thread that could resume it in mutex.lock(); the watchdog "
                 "killed the child after %.0f ms\n",
                 updates, kTasks * kRounds, static_cast<long long>(params.watchdog_ms), ms);
  } else if (variant == "mutex" || variant == "sharded") {
    std::fprintf(stderr,
                 "finished: %d of %d updates in %.0f ms — no deadlock with %lld threads, but a thread stalled in "
                 "mutex.lock() for every wait the holder made (and a task resumed on the other thread unlocks a "
                 "std::mutex that thread did not lock: undefined behaviour)\n",
                 updates, kTasks * kRounds, ms, static_cast<long long>(params.threads));
  } else {
    std::fprintf(stderr, "finished: %d of %d updates in %.0f ms — no thread ever blocked\n", updates, kTasks * kRounds,
                 ms);
  }
  run.counter("updates_made", updates);
  run.counter("deadlocked", deadlocked ? 1 : 0);
  // The plan every variant ran; whether it finished is the finding, in the counters.
  const std::string plan = "pitfall tasks=" + std::to_string(kTasks) + " rounds=" + std::to_string(kRounds) +
                           " threads=" + std::to_string(params.threads);
  wb::Digest d;
  d.update(plan.data(), plan.size());
  return {static_cast<std::uint64_t>(updates), wb::Digest::hex(d.finish())};
}

}  // namespace shared_state
