// Chapter 02 — fan-out/fan-in, the BLOCKING way: a thread per backend call.  Twin of
// async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: N calls, N std::jthreads, each parked in connect/write/read on its own
// socket until the backend answers.  --max-in-flight K makes all but K of them wait on a
// counting semaphore (they exist, they just wait).  The main thread joins each call's thread as
// soon as the call ends (--join-threads).  Fail-fast: the first failure requests stop;
// a thread blocked in read() cannot be interrupted, so the stop callback shuts its socket down
// under it, and the blocked read returns with an error.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <sys/socket.h>

#include "chapters/02-fan-out/scenario.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  const auto start = std::chrono::steady_clock::now();
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io;  // sockets need one; nobody runs it: every call below blocks its thread
  const bool fail_fast = params.policy == "fail-fast";
  std::vector<CallResult> results(workload.size());
  const auto limit = params.max_in_flight > 0 ? params.max_in_flight : static_cast<std::int64_t>(workload.size());
  std::counting_semaphore<> slots(static_cast<std::ptrdiff_t>(limit));
  std::stop_source stop;  // fail-fast: the first failure asks every other call to stop
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> peak_in_flight{0};

  // One call: wait for a slot, connect, send the request, block until the answer is in.
  auto call = [&](std::size_t i) {
    const auto& request = workload.requests()[i];
    auto& result = results[i];
    const auto task = static_cast<std::int64_t>(i);
    slots.acquire();  // parks this thread while max-in-flight calls run
    struct Release {
      std::counting_semaphore<>& held;
      ~Release() { held.release(); }
    } release{slots};
    if (stop.stop_requested()) return;  // cancelled before it began (result stays "cancelled")
    const auto now_in_flight = ++in_flight;
    for (auto seen = peak_in_flight.load(); now_in_flight > seen && !peak_in_flight.compare_exchange_weak(seen, now_in_flight);) {
    }
    const wb::Span span(task, "call " + std::to_string(i));
    const auto call_start = std::chrono::steady_clock::now();
    try {
      tcp::socket socket(io);
      socket.open(tcp::v4());
      // Cancellation, the blocking way: another thread cannot wake a thread parked in read(),
      // but it can shut the socket down under it, which makes the read return an error.
      std::stop_callback on_stop(stop.get_token(), [&socket] { ::shutdown(socket.native_handle(), SHUT_RDWR); });
      socket.connect(endpoint);
      http::request<http::empty_body> req{http::verb::get, request.target(), 11};
      req.set(http::field::host, workload.endpoint().host);
      req.keep_alive(false);  // the backend closes first, so TIME_WAIT stays on its side
      http::write(socket, req);
      beast::flat_buffer buffer;
      http::response<http::string_body> res;
      http::read(socket, buffer, res);  // parks this thread until the backend answers
      result.digest = check_answer(request, res.result_int(), res.body());
      result.status = CallStatus::ok;
      run.latency().record((std::chrono::steady_clock::now() - call_start).count());
    } catch (const std::exception& e) {
      if (stop.stop_requested()) {
        result.status = CallStatus::cancelled;  // our own shutdown ended it
      } else {
        result.status = CallStatus::failed;
        result.error = e.what();
        if (fail_fast) stop.request_stop();
      }
    }
    --in_flight;
  };

  {
    // A thread per call.  A thread that has finished keeps its stack — and the stack's pages in
    // RSS — until someone joins it, so the main thread joins each call's thread as soon as the
    // call has ended, while it goes on starting the others.  (--join-threads at-the-end keeps
    // them all until the fan-in, which is what a vector of std::jthread does by itself: 10,000
    // finished threads then hold 10,000 stacks.)  Leaving this block joins whatever is left —
    // the fan-in point.
    Ended ended;  // declared first: it must outlive the threads that report to it
    std::vector<std::jthread> threads(workload.size());
    const bool join_early = params.join_threads == "as-they-finish";
    std::size_t joined = 0;
    std::int64_t peak_unjoined = 0;
    try {
      for (std::size_t i = 0; i < workload.size(); ++i) {
        threads[i] = std::jthread([&, i] {
          call(i);
          ended.add(i);
        });
        if (join_early) joined += ended.join(threads, false);
        peak_unjoined = std::max(peak_unjoined, static_cast<std::int64_t>(i + 1 - joined));
      }
    } catch (const std::system_error& e) {
      // The OS refused a thread (EAGAIN: kernel.threads-max, pid_max or ulimit -u).  Stop the
      // ones that run, wait for them, and fail the run saying how far it got.
      const auto started = std::count_if(threads.begin(), threads.end(), [](const std::jthread& t) { return t.joinable(); }) + joined;
      stop.request_stop();
      threads.clear();
      throw std::runtime_error("the OS refused thread " + std::to_string(started + 1) + " of " +
                               std::to_string(workload.size()) + ": " + e.what() +
                               " (the thread ceiling: kernel.threads-max, kernel.pid_max, ulimit -u)");
    }
    if (join_early) {
      while (joined < threads.size()) joined += ended.join(threads, true);
    }
    run.counter("peak_unjoined_threads", static_cast<double>(peak_unjoined));
  }
  const double fan_in_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  record_calls(results, peak_in_flight, fan_in_ms, run);
  return {static_cast<std::uint64_t>(workload.size()), fan_in(results, fail_fast)};
}

}  // namespace fan_out
