// Exact peak thread count for threads made with pthread_create (std::thread, std::jthread,
// asio::thread_pool all end there).  Sampling /proc/self/status misses threads that live for
// less than the sampling period — a sync variant whose 64 threads each read one small file is
// over before the sampler looks twice — so we count them as they are made instead.
//
// How: this definition of pthread_create takes precedence over libc's (the executable's
// symbols come first), counts the thread, and calls the next definition (libc's, or a
// sanitizer's interceptor when one is loaded).  A thread_local guard counts the exit.
// Threads the kernel makes for us (io_uring's io-wq workers) do not pass through here; the
// /proc sampler in resources.cpp still sees those.
#include "common/thread_census.hpp"

#include <atomic>
#include <new>

#include <dlfcn.h>
#include <pthread.h>

#if defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WB_NO_CENSUS 1  // clang links its sanitizer runtimes statically, with their own pthread_create
#endif
#endif

namespace {

std::atomic<long> g_live{1};  // the main thread
std::atomic<long> g_peak{1};

void note_started() {
  const long now = g_live.fetch_add(1, std::memory_order_relaxed) + 1;
  long seen = g_peak.load(std::memory_order_relaxed);
  while (now > seen && !g_peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

}  // namespace

#if !defined(WB_NO_CENSUS)

namespace {

struct Start {
  void* (*fn)(void*);
  void* arg;
};

struct ExitGuard {
  ~ExitGuard() { g_live.fetch_sub(1, std::memory_order_relaxed); }
};

void* trampoline(void* p) {
  const Start s = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  thread_local ExitGuard guard;  // destroyed when this thread exits, however it exits
  (void)guard;
  return s.fn(s.arg);
}

using create_fn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

}  // namespace

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
  static const auto next = reinterpret_cast<create_fn>(::dlsym(RTLD_NEXT, "pthread_create"));
  auto* start = new (std::nothrow) Start{fn, arg};
  if (!start) return EAGAIN;
  note_started();
  const int rc = next(thread, attr, trampoline, start);
  if (rc != 0) {
    g_live.fetch_sub(1, std::memory_order_relaxed);
    delete start;
  }
  return rc;
}

#endif

namespace wb {

bool thread_census_active() {
#if defined(WB_NO_CENSUS)
  return false;
#else
  return true;
#endif
}

void thread_census_reset() { g_peak.store(g_live.load(std::memory_order_relaxed), std::memory_order_relaxed); }
long thread_census_peak() { return g_peak.load(std::memory_order_relaxed); }

}  // namespace wb
