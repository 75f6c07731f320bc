// Chapter 13 — the pitfall (§25): a std::mutex held across a co_await.
//
// Two coroutines on an io_context, each in a loop: lock a std::mutex, co_await a 1 ms timer
// *while holding it*, update, unlock.  Task 0 takes the mutex and suspends at its co_await;
// the thread goes on to task 1, which calls mutex.lock() — a blocking call — and so blocks the
// thread.  With one thread running the io_context, that was the only thread that could resume
// task 0 and unlock: a deadlock, silent, with no CPU used.  With two threads, the second
// resumes task 0, which unlocks, and task 1 goes on: a stall of a thread for the length of the
// wait, not a deadlock — and undefined behaviour, since task 0 may resume on the other thread
// and unlock a std::mutex that thread never locked (ThreadSanitizer says so).  The cure is an async lock (a task that
// must wait suspends instead of blocking the thread — the async-mutex variant) or not holding a lock across a
// suspension.
//
// The demonstration runs in a child process, watched: a byte per update comes through a pipe,
// and no byte for --watchdog-ms means the child is deadlocked.  The watchdog then says so,
// kills the child and returns; the runner and the tests never hang on it.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/13-shared-state/scenario.hpp"

namespace asio = boost::asio;

namespace shared_state {

namespace {

constexpr int kRounds = 20;  // updates per task when nothing deadlocks

// The child: two tasks holding a std::mutex across a co_await; a byte down `progress` per update.
[[noreturn]] void deadlock_child(const Params& p, int progress) {
  asio::io_context io(static_cast<int>(p.threads));
  std::mutex mu;
  auto task = [&](int me) -> asio::awaitable<void> {
    asio::steady_timer wait(io);
    for (int k = 0; k < kRounds; ++k) {
      std::fprintf(stderr, "  task %d: mutex.lock() on thread %d\n", me, static_cast<int>(gettid()));
      std::unique_lock lock(mu);  // THE PITFALL: blocks the thread when the other task holds it
      wait.expires_after(std::chrono::milliseconds(1));
      std::fprintf(stderr, "  task %d: holds the mutex, co_await a timer\n", me);
      co_await wait.async_wait(asio::use_awaitable);  // ... and suspends still holding it
      const char byte = static_cast<char>(me);
      if (::write(progress, &byte, 1) != 1) std::_Exit(3);
    }
  };
  for (int me = 0; me < 2; ++me) asio::co_spawn(io, task(me), asio::detached);
  std::vector<std::thread> extra;
  for (std::int64_t i = 1; i < p.threads; ++i) extra.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : extra) t.join();
  std::_Exit(0);
}

}  // namespace

int show_pitfall(const Params& p) {
  std::printf(
      "pitfall: two tasks hold a std::mutex across a co_await, %lld thread(s) run the io_context; "
      "watchdog %lld ms\n",
      static_cast<long long>(p.threads), static_cast<long long>(p.watchdog_ms));
  std::fflush(stdout);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    ::close(fds[0]);
    deadlock_child(p, fds[1]);
  }
  ::close(fds[1]);
  int updates = 0;
  bool deadlocked = false;
  for (;;) {
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(p.watchdog_ms));
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
  if (deadlocked) {
    std::printf(
        "deadlock: %d of %d updates made, then none for %lld ms — one task holds the mutex while suspended, "
        "the other blocks the only thread that could resume it in mutex.lock(); the watchdog killed the "
        "child after %.0f ms\n",
        updates, 2 * kRounds, static_cast<long long>(p.watchdog_ms), ms);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    std::printf(
        "finished: %d of %d updates in %.0f ms — no deadlock with %lld threads, but a thread stalled in "
        "mutex.lock() for every wait the holder made (and a task resumed on the other thread unlocks a "
        "std::mutex that thread did not lock: undefined behaviour)\n",
        updates, 2 * kRounds, ms, static_cast<long long>(p.threads));
  } else {
    std::printf("the child ended abnormally (status %d) after %d updates\n", status, updates);
    return 1;
  }
  return 0;
}

}  // namespace shared_state
