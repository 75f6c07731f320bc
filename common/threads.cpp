#include "common/threads.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>

#include <thread>
#include <vector>

#include "common/os_limits.hpp"

namespace wb {

std::runtime_error thread_refused(std::size_t number, std::size_t wanted, const std::system_error& e) {
  return std::runtime_error("the OS refused thread " + std::to_string(number) + " of " + std::to_string(wanted) + ": " +
                            e.what() + " (the thread ceiling: " + describe(thread_limits()) +
                            "; or ulimit -v, the address space every thread's stack reserves)");
}

void run_on_threads(std::int64_t n, const std::function<void(std::int64_t)>& body,
                    const std::function<void(std::exception_ptr)>& done) {
  auto guarded = [&](std::int64_t k) {
    std::exception_ptr error;
    try {
      body(k);
    } catch (...) {
      error = std::current_exception();
    }
    done(error);
  };
  if (n == 1) {
    guarded(0);
    return;
  }
  // std::jthread joins in its destructor: leaving this scope waits for every thread.
  std::vector<std::jthread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  try {
    for (std::int64_t k = 0; k < n; ++k) threads.emplace_back(guarded, k);
  } catch (const std::system_error& e) {
    done(std::make_exception_ptr(thread_refused(threads.size() + 1, static_cast<std::size_t>(n), e)));
  }
}

int pin_to_first_cpu() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    throw std::system_error(errno, std::generic_category(), "sched_getaffinity");
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed)) ++cpu;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0)
    throw std::system_error(errno, std::generic_category(), "sched_setaffinity");
  return cpu;
}

std::int64_t context_switches() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw + u.ru_nivcsw;
}

}  // namespace wb
