// Chapter 13 — an asynchronous mutex for coroutines (Asio has none; Tokio's `Mutex` is one).
//
// What it does that a std::mutex does not: a coroutine that finds it taken *suspends*, and its
// thread goes on running other coroutines; the unlock hands the lock straight to the first waiter
// and resumes it through that waiter's own executor (asio::post), never on the unlocking thread's
// stack.  What it costs, and where:
//   - free: one compare-exchange to take it and one to give it back — a std::mutex's own fast
//     path (glibc takes and gives a futex word the same way); no executor is involved;
//   - taken: the waiter's completion handler is queued under a small std::mutex (the slow path
//     only), and each hand-over is a post and a resume through the io_context — the price of
//     suspending instead of blocking.
//
// The state word: 0 free, 1 held, 2 held with waiters queued.  It moves 1 -> 2 and 2 -> 1 only
// under waiters_mu_, so an unlock that finds 2 is certain to find a waiter in the queue; a
// hand-over leaves the word at 1 or 2 (the lock is never free between two owners, so nobody can
// barge in ahead of the queue: first come, first served once queued).
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

namespace shared_state {

class AsyncMutex {
 public:
  AsyncMutex() = default;
  AsyncMutex(const AsyncMutex&) = delete;
  AsyncMutex& operator=(const AsyncMutex&) = delete;

  // The fast path: takes the lock if it is free, at once.
  bool try_lock() {
    int free = 0;
    return state_.compare_exchange_strong(free, 1, std::memory_order_acquire, std::memory_order_relaxed);
  }

  // Completes (void()) holding the lock: at once through `token`'s executor if it was free by the
  // time the request was queued, else when an unlock hands it over.  `co_await
  // m.async_lock(use_awaitable)` suspends the coroutine meanwhile; call try_lock() first to skip
  // the suspension when the lock is free.
  template <class Token>
  auto async_lock(Token&& token) {
    return boost::asio::async_initiate<Token, void()>(
        [this](auto handler) {
          std::unique_lock queue(waiters_mu_);
          int s = state_.load(std::memory_order_relaxed);
          for (;;) {
            if (s == 0) {
              if (!state_.compare_exchange_weak(s, 1, std::memory_order_acquire, std::memory_order_relaxed)) continue;
              queue.unlock();
              // Freed meanwhile: ours now.  Completed through the executor, not inline, as every
              // asynchronous operation must (the caller's frame may not be suspended yet).
              resume(Waiter(std::move(handler)));
              return;
            }
            if (s == 2 || state_.compare_exchange_weak(s, 2, std::memory_order_relaxed)) break;
          }
          waiters_.push_back(Waiter(std::move(handler)));
        },
        token);
  }

  // Gives the lock back: free if nobody waits, else to the first waiter, resumed on its executor.
  void unlock() {
    int held = 1;
    if (state_.compare_exchange_strong(held, 0, std::memory_order_release, std::memory_order_relaxed)) return;
    std::unique_lock queue(waiters_mu_);  // state is 2: a waiter is queued (see the top)
    Waiter next = std::move(waiters_.front());
    waiters_.pop_front();
    if (waiters_.empty()) state_.store(1, std::memory_order_relaxed);  // still held, by `next`
    queue.unlock();
    // The hand-over: the lock stays held; the release/acquire pair is the queue's mutex (this
    // thread's writes under the lock happen-before the post, which happens-before the resume).
    resume(std::move(next));
  }

  // How many coroutines wait for it now (for the narration and the tests).
  std::size_t waiting() {
    const std::lock_guard queue(waiters_mu_);
    return waiters_.size();
  }

 private:
  // A queued waiter: its completion handler, type-erased, and the executor it runs on (taken when
  // it queued: Boost 1.81's type-erased handler cannot be posted to its own type-erased executor).
  struct Waiter {
    template <class H>
    explicit Waiter(H&& h) : ex(boost::asio::get_associated_executor(h)), handler(std::forward<H>(h)) {}
    boost::asio::any_io_executor ex;
    boost::asio::any_completion_handler<void()> handler;
  };

  // Completes a waiter's lock on its own executor, never inline on the caller's stack.
  static void resume(Waiter w) {
    auto ex = w.ex;
    boost::asio::post(ex, [h = std::move(w.handler)]() mutable { std::move(h)(); });
  }

  std::atomic<int> state_{0};
  std::mutex waiters_mu_;  // guards waiters_, and the 1 <-> 2 moves of state_
  std::deque<Waiter> waiters_;
};

}  // namespace shared_state
