// Chapter 04 — graceful shutdown, the BLOCKING way.  Twin of async.cpp: `diff sync.cpp
// async.cpp` is the lesson.
//
// Concurrency model: producer and worker std::jthreads around a queue guarded by a mutex and a
// condition variable.  The signals are taken by a thread of their own with sigtimedwait: every
// other thread blocks them (main.cpp), and no work happens in a signal handler.  Three
// std::stop_sources carry the phases of shutdown: `accepting` (stop taking new jobs),
// `abort_now` (end the jobs in flight) and `service_done` (every worker has returned).  A worker
// blocked in a socket read cannot be interrupted; abort_now's stop callback shuts its socket
// down under it.
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/04-shutdown/scenario.hpp"
#include "common/threads.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

namespace graceful_shutdown {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io;  // sockets need one; nobody runs it: every call blocks its thread
  Ledger ledger;
  std::stop_source accepting;     // requested at the first signal: producers stop
  std::stop_source abort_now;     // requested at the drain deadline or a second signal
  std::stop_source service_done;  // requested when every producer and worker has returned
  // The queue: a deque under a mutex; `changed` wakes whoever waits for it to change, or for a
  // phase of shutdown to begin.
  std::mutex mu;
  std::condition_variable_any changed;
  std::deque<Job> queue;
  std::uint64_t next_id = 0;                    // under mu
  const sigset_t signals = wb::stop_signals();  // blocked in every thread: signal_taker takes them

  // Producers: submit a job every submit_every_ms until the service stops accepting.
  auto producer = [&] {
    for (;;) {
      std::unique_lock lock(mu);
      // Wait out the interval — or less, if shutdown begins (the wait watches `accepting`).
      changed.wait_for(lock, accepting.get_token(), milliseconds(params.submit_every_ms), [] { return false; });
      // A full queue pushes back: wait for room, unless shutdown begins meanwhile.
      changed.wait(lock, accepting.get_token(),
                   [&] { return queue.size() < static_cast<std::size_t>(params.queue_capacity); });
      if (accepting.stop_requested()) break;  // a job that was not queued was never accepted
      queue.emplace_back(next_id++, Clock::now());
      ++ledger.accepted;
      changed.notify_all();
    }
  };

  // Workers: take a job and process it; once shutdown begins, finish the queue (drain); once
  // abort_now is requested, end the job in flight and mark what is left aborted.
  auto worker = [&] {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu);
        wb::event(-1, "wait for a job");
        changed.wait(lock, [&] { return !queue.empty() || accepting.stop_requested(); });
        if (queue.empty()) break;  // stopped accepting and nothing left: done
        job = queue.front();
        queue.pop_front();
        changed.notify_all();  // room for a producer
      }
      if (abort_now.stop_requested()) {
        ++ledger.aborted;  // accepted, never started: ended on purpose
        continue;
      }
      const auto request = job_request(params, job.first);
      const auto task = static_cast<std::int64_t>(job.first);
      const wb::Span span(task, "job " + std::to_string(job.first));
      try {
        tcp::socket socket(io);
        socket.open(tcp::v4());
        std::stop_callback on_abort(abort_now.get_token(),
                                    [&socket] { ::shutdown(socket.native_handle(), SHUT_RDWR); });
        wb::event(task, "connect");
        socket.connect(endpoint);
        http::request<http::empty_body> req{http::verb::get, request.target(), 11};
        req.set(http::field::host, workload.endpoint().host);
        req.keep_alive(false);
        http::write(socket, req);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        wb::event(task, "wait for the answer");
        http::read(socket, buffer, res);  // parks this worker until the backend answers
        wb::event(task, "answer");
        wb::check_answer(request, res.result_int(), res.body());
        ++ledger.completed;
        run.latency().record((Clock::now() - job.second).count());
      } catch (const std::exception&) {
        ++ledger.aborted;  // shut down under it (or the backend failed): it ended, not lost
        wb::event(static_cast<std::int64_t>(job.first), "aborted");
      }
    }
  };

  // The signal taker: the only thread that takes SIGINT and SIGTERM, as ordinary code.
  auto signal_taker = [&] {
    std::optional<Clock::time_point> drain_deadline;
    while (!service_done.stop_requested()) {
      // Wait for a signal or 10 ms: how often the drain deadline and the service's end are seen.
      const timespec slice{0, 10'000'000};
      siginfo_t info{};
      const bool signalled = ::sigtimedwait(&signals, &info, &slice) > 0;
      const bool deadline_passed = drain_deadline && Clock::now() >= *drain_deadline;
      // Under the queue's mutex, so that no worker checks its wait condition between the
      // request and the notification and then sleeps through it.
      std::lock_guard lock(mu);
      if (signalled && ++ledger.signals == 1) {
        ledger.first_signal = Clock::now();
        wb::event(-1, "signal: stop accepting, drain");
        drain_deadline = ledger.first_signal + milliseconds(params.drain_ms);
        accepting.request_stop();
      } else if (signalled) {
        wb::event(-1, "second signal: abort now");
        abort_now.request_stop();
      } else if (deadline_passed && !abort_now.stop_requested()) {
        ledger.drain_overrun = true;
        wb::event(-1, "drain deadline: abort what is left");
        abort_now.request_stop();
      }
      changed.notify_all();
    }
  };

  const SelfSignals self_signals(params);
  // A thread each: the signal taker, the producers, the workers.
  std::jthread taker(signal_taker);
  {
    std::vector<std::jthread> threads;
    for (std::int64_t i = 0; i < params.producers; ++i) threads.emplace_back(producer);
    for (std::int64_t i = 0; i < params.workers; ++i) threads.emplace_back(worker);
    // Leaving the block joins them: every producer and worker has returned.
  }
  service_done.request_stop();  // the signal taker sees it within 10 ms
  return record(ledger, run);
}

}  // namespace graceful_shutdown
