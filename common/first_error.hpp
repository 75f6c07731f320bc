// "The first error wins": the exception policy of every chapter whose tasks end the run on the
// first failure.  The first exception is kept and the later ones dropped; failed() tells the
// tasks still running to stop taking new work; rethrow() hands the kept one to the caller once
// they have all returned.  Thread-safe, so the blocking variants' threads and the coroutines'
// completion handlers use the same one:
//
//   wb::FirstError errors;
//   wb::run_on_threads(n, body, errors.handler());                   // threads
//   asio::co_spawn(io, body(k), errors.handler());  io.run();         // coroutines
//   errors.rethrow();
#pragma once

#include <atomic>
#include <exception>
#include <mutex>

namespace wb {

class FirstError {
 public:
  // Keeps e when it is the first; a null e (a task that ended well) is ignored.  Returns
  // whether e was kept, so that the caller can wake whoever must learn of it once.
  bool keep(std::exception_ptr e) {
    if (!e) return false;
    const std::lock_guard lock(mutex_);
    if (first_) return false;
    first_ = std::move(e);
    failed_.store(true, std::memory_order_release);
    return true;
  }
  // Whether a task has failed: the others stop at their next step.
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // A completion handler for co_spawn or run_on_threads: keep(e).
  auto handler() {
    return [this](std::exception_ptr e) { keep(std::move(e)); };
  }
  // Throws the kept exception, if any.  Call once every task has returned.
  void rethrow() const {
    const std::lock_guard lock(mutex_);
    if (first_) std::rethrow_exception(first_);
  }

 private:
  mutable std::mutex mutex_;
  std::exception_ptr first_;
  std::atomic<bool> failed_{false};
};

}  // namespace wb
