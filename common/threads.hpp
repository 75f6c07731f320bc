// What the blocking variants share about threads: the error for a thread the OS will not start,
// and the stop signals (SIGINT, SIGTERM) a blocking service takes on one thread of its own.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace wb {

// The error for thread `number` (1-based) of `wanted` that the OS refused (EAGAIN at the
// thread ceiling), naming the limits that set the ceiling and the room each left at that moment
// (common/os_limits.hpp).  A sync variant asked for more threads than the machine allows fails
// with this, cleanly, instead of crashing.
std::runtime_error thread_refused(std::size_t number, std::size_t wanted, const std::system_error& e);

// The blocking twin of `co_spawn(io, body(k), done)` for k in [0, n): runs body(k) on a thread
// of its own (with n = 1, on the calling thread: one after the other needs no thread), hands
// its exception, or a null one, to done(e) on that thread, and returns when every body has
// returned.  When the OS refuses a thread, done() gets thread_refused's error, so that the
// bodies already running can be told to stop; they are joined, and the call returns.
void run_on_threads(std::int64_t n, const std::function<void(std::int64_t)>& body,
                    const std::function<void(std::exception_ptr)>& done);

// Pins the calling thread (and so every thread it starts afterwards) to one CPU, the first this
// process may use, and returns it: a switch between two units on one core is a real switch, not
// a wake-up of a thread that spins on another core.  Throws std::system_error when refused.
int pin_to_first_cpu();

// Voluntary + involuntary context switches of the whole process so far (getrusage): the
// kernel's count, independent of any clock.
std::int64_t context_switches();

// SIGINT and SIGTERM: "stop" to every service in this project.
inline sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks the stop signals in this thread and every thread it starts afterwards (they inherit
// the mask), so that one thread can take them with sigwait/sigtimedwait instead of a handler
// interrupting whichever thread happens to run.
inline void block_stop_signals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace wb
