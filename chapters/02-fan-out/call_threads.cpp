// Chapter 02 — how sync.cpp starts a thread per call and joins them: a lesson of its own (a
// finished thread is not free until it is joined), kept out of sync.cpp so that the twins
// differ only in how a call waits.
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "chapters/02-fan-out/scenario.hpp"
#include "common/threads.hpp"

namespace fan_out {

namespace {

// The calls that have ended, whose threads the main thread has not joined yet.
class Ended {
 public:
  void add(std::size_t call) {
    {
      std::lock_guard lock(mu_);
      calls_.push_back(call);
    }
    cv_.notify_one();
  }
  // Joins the threads of the calls that have ended (first waiting for one, with `wait`);
  // returns how many it joined.  A thread's last act is add(), so each join is immediate.
  std::size_t join(std::vector<std::jthread>& threads, bool wait) {
    std::vector<std::size_t> calls;
    {
      std::unique_lock lock(mu_);
      if (wait) cv_.wait(lock, [this] { return !calls_.empty(); });
      calls.swap(calls_);
    }
    for (const auto i : calls) threads[i].join();
    return calls.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::size_t> calls_;
};

}  // namespace

void run_call_threads(std::size_t n, const std::function<void(std::size_t)>& call,
                      const std::function<void(std::size_t, std::exception_ptr)>& done, bool join_early,
                      const std::function<void()>& stop, wb::Run& run) {
  Ended ended;  // declared first: it must outlive the threads that report to it
  std::vector<std::jthread> threads(n);
  std::size_t joined = 0;
  std::int64_t peak_unjoined = 0;
  try {
    for (std::size_t i = 0; i < n; ++i) {
      threads[i] = std::jthread([&, i] {
        std::exception_ptr error;
        try {
          call(i);
        } catch (...) {
          error = std::current_exception();
        }
        done(i, error);
        ended.add(i);
      });
      if (join_early) joined += ended.join(threads, false);
      peak_unjoined = std::max(peak_unjoined, static_cast<std::int64_t>(i + 1 - joined));
    }
  } catch (const std::system_error& e) {
    // The OS refused a thread (EAGAIN: kernel.threads-max, pid_max or ulimit -u).  Stop the
    // ones that run, wait for them, and fail the run saying how far it got.
    const auto started = static_cast<std::size_t>(std::count_if(threads.begin(), threads.end(),
                                                                [](const std::jthread& t) { return t.joinable(); })) +
                         joined;
    stop();
    threads.clear();
    throw wb::thread_refused(started + 1, n, e);
  }
  if (join_early) {
    while (joined < threads.size()) joined += ended.join(threads, true);
  }
  run.counter("peak_unjoined_threads", static_cast<double>(peak_unjoined));
}

}  // namespace fan_out
