// Chapter 00 — the coroutine type and the run loop async.cpp's units run on, written out: what
// the kernel's scheduler is to sync.cpp's threads, in sixty lines.
//
// Task is a coroutine that starts when the loop first resumes it and frees its frame when it
// ends; its promise's operator new is told the frame's size.  Loop holds the handles that may
// run (a queue) and the timers that will make more of them ready (a heap); resuming a handle is
// a function call into its frame.  When nothing is ready, the loop's thread sleeps until the
// earliest timer: the one place this model blocks, as an io_context blocks in epoll_wait.
// One thread only: nothing here is safe to call from another.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <new>
#include <queue>
#include <thread>
#include <vector>

#include "chapters/00-how-a-coroutine-waits/scenario.hpp"

namespace how_a_coroutine_waits {

// A coroutine that starts when the loop first resumes it and frees its frame when it ends.
struct Task {
  struct promise_type {
    static inline std::size_t last_frame_bytes = 0;  // the size the compiler asked for
    static inline std::exception_ptr failure;        // a unit's exception, rethrown after the loop
    static void* operator new(std::size_t bytes) {
      last_frame_bytes = bytes;
      return ::operator new(bytes);
    }
    static void operator delete(void* frame) { ::operator delete(frame); }
    Task get_return_object() { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }  // the loop starts it
    std::suspend_never final_suspend() noexcept { return {}; }     // the frame is freed at the end
    void return_void() {}
    void unhandled_exception() {
      if (!failure) failure = std::current_exception();
    }
  };
  std::coroutine_handle<promise_type> handle;
};

// The run loop: the handles that may run, and the timers that will make more of them ready.
class Loop {
 public:
  void ready(std::coroutine_handle<> h) { ready_.push_back(h); }
  void at(Clock::time_point when, std::coroutine_handle<> h) { timers_.push({when, next_++, h}); }
  // Resumes ready handles until none is left; returns without waiting for a timer.
  void run_ready() {
    while (!ready_.empty()) {
      const auto h = ready_.front();
      ready_.pop_front();
      h.resume();  // a function call: runs the coroutine on from its co_await, to its next one
    }
  }
  // Runs until nothing is ready and no timer is pending; sleeps until the earliest timer when
  // nothing is ready.
  void run() {
    for (run_ready(); !timers_.empty(); run_ready()) {
      if (timers_.top().when > Clock::now()) std::this_thread::sleep_until(timers_.top().when);
      while (!timers_.empty() && timers_.top().when <= Clock::now()) {
        ready(timers_.top().handle);
        timers_.pop();
      }
    }
  }
  // Every pending timer fires now.
  void fire_all_timers() {
    for (; !timers_.empty(); timers_.pop()) ready(timers_.top().handle);
  }

 private:
  struct Timer {
    Clock::time_point when;
    std::uint64_t order;  // ties fire in the order they were set
    std::coroutine_handle<> handle;
    bool operator>(const Timer& o) const { return when != o.when ? when > o.when : order > o.order; }
  };
  std::deque<std::coroutine_handle<>> ready_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::uint64_t next_ = 0;
};

}  // namespace how_a_coroutine_waits
