// Chapter 04 — graceful shutdown, the ASYNC way.  Twin of sync.cpp: `diff sync.cpp async.cpp`
// is the lesson.
//
// Concurrency model: producer and worker coroutines on one io_context thread around a bounded
// channel (the queue).  The signals are taken by a coroutine of its own through
// asio::signal_set: its wait ends as ordinary code on this thread, not in a signal handler.
// Three wb::CancellationSources carry the phases of shutdown: `accepting` (stop taking new
// jobs), `abort_now` (end the jobs in flight) and `service_done` (every worker has returned).
// A worker suspended in a socket read is cancelled: abort_now emits a terminal cancellation,
// and the pending operation completes at once with operation_aborted.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/04-shutdown/scenario.hpp"
#include "common/cancellation.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using namespace asio::experimental::awaitable_operators;

namespace graceful_shutdown {

namespace {
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);  // errors as values, not exceptions
const Job kNoMoreJobs{UINT64_MAX, {}};                         // see the producers' end
}  // namespace

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs the service
  Ledger ledger;
  wb::CancellationSource accepting;     // requested at the first signal: producers stop
  wb::CancellationSource abort_now;     // requested at the drain deadline or a second signal
  wb::CancellationSource service_done;  // requested when every producer and worker has returned
  // The queue: a channel with room for queue_capacity jobs; sending waits while it is full.
  asio::experimental::channel<void(boost::system::error_code, Job)> queue(
      io, static_cast<std::size_t>(params.queue_capacity));
  std::int64_t producers_left = params.producers;
  std::int64_t workers_left = params.workers;
  std::uint64_t next_id = 0;                      // one thread runs every coroutine: no atomics, no mutex
  asio::signal_set signals(io, SIGINT, SIGTERM);  // from here on they queue up for signal_taker

  // Producers: submit a job every submit_every_ms until the service stops accepting.
  auto producer = [&]() -> asio::awaitable<void> {
    // Checked before every wait: a cancellation that came when this producer's last operation
    // had already completed is only recorded, and the next co_await would throw it.
    for (asio::steady_timer interval(io); !accepting.stop_requested();) {
      // Wait out the interval — or less, if shutdown begins (`accepting` cancels the wait).
      interval.expires_after(milliseconds(params.submit_every_ms));
      co_await interval.async_wait(nothrow);
      // A full queue pushes back: wait for room, unless shutdown begins meanwhile.
      if (accepting.stop_requested()) break;
      const auto [ec] = co_await queue.async_send(boost::system::error_code{}, Job{next_id++, Clock::now()}, nothrow);
      if (ec) break;  // a job that was not queued was never accepted
      ++ledger.accepted;
    }
    // The last producer out closes the intake: a "no more jobs" marker per worker, behind every
    // job queued (channel::close() would drop those).  The cancellation that stopped this
    // producer must not cancel these sends.
    co_await asio::this_coro::reset_cancellation_state();
    if (--producers_left > 0) co_return;
    for (std::int64_t i = 0; i < params.workers; ++i)
      co_await queue.async_send(boost::system::error_code{}, kNoMoreJobs, asio::use_awaitable);
  };

  // Workers: take a job and process it; once shutdown begins, finish the queue (drain); once
  // abort_now is requested, end the job in flight and mark what is left aborted.
  auto worker = [&]() -> asio::awaitable<void> {
    for (;;) {
      // A cancellation that came between two jobs must not cancel the next one's first operation.
      co_await asio::this_coro::reset_cancellation_state();
      wb::event(-1, "wait for a job");
      const auto [ec, job] = co_await queue.async_receive(nothrow);
      if (ec) continue;               // abort_now, while waiting for a job: the markers still come
      if (job == kNoMoreJobs) break;  // stopped accepting and nothing left: done
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
        // abort_now reaches the pending operation through this worker's slot (bound below).
        wb::event(task, "connect");
        co_await socket.async_connect(endpoint, asio::use_awaitable);
        http::request<http::empty_body> req{http::verb::get, request.target(), 11};
        req.set(http::field::host, workload.endpoint().host);
        req.keep_alive(false);
        co_await http::async_write(socket, req, asio::use_awaitable);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        wb::event(task, "wait for the answer");
        co_await http::async_read(socket, buffer, res, asio::use_awaitable);  // suspends this worker only
        wb::event(task, "answer");
        wb::check_answer(request, res.result_int(), res.body());
        ++ledger.completed;
        run.latency().record((Clock::now() - job.second).count());
      } catch (const std::exception&) {
        ++ledger.aborted;  // cancelled (or the backend failed): it ended, not lost
        wb::event(static_cast<std::int64_t>(job.first), "aborted");
      }
    }
    if (--workers_left == 0) service_done.request_stop();
  };

  // The signal taker: the only coroutine that takes SIGINT and SIGTERM, as ordinary code.
  auto signal_taker = [&]() -> asio::awaitable<void> {
    asio::steady_timer drain_deadline(io, Clock::time_point::max());
    while (!service_done.stop_requested()) {
      // Wait for a signal or the drain deadline, whichever comes first; service_done cancels both.
      const auto woken = co_await (signals.async_wait(nothrow) || drain_deadline.async_wait(nothrow));
      const bool signalled = woken.index() == 0 && !std::get<0>(std::get<0>(woken));
      const bool deadline_passed = woken.index() == 1 && !std::get<0>(std::get<1>(woken));
      if (service_done.stop_requested()) break;
      if (signalled && ++ledger.signals == 1) {
        ledger.first_signal = Clock::now();
        wb::event(-1, "signal: stop accepting, drain");
        drain_deadline.expires_at(ledger.first_signal + milliseconds(params.drain_ms));
        accepting.request_stop();
      } else if (signalled) {
        wb::event(-1, "second signal: abort now");
        abort_now.request_stop();
      } else if (deadline_passed && !abort_now.stop_requested()) {
        ledger.drain_overrun = true;
        wb::event(-1, "drain deadline: abort what is left");
        abort_now.request_stop();
      }
      if (deadline_passed) drain_deadline.expires_at(Clock::time_point::max());  // it has done its part
    }
  };

  const SelfSignals self_signals(params);
  // A coroutine each: the signal taker, the producers, the workers.  Exception policy: they
  // handle expected errors themselves; an exception reaching this handler is a bug, rethrown
  // from io.run().
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(io, signal_taker(), asio::bind_cancellation_slot(service_done.slot(), rethrow));
  for (std::int64_t i = 0; i < params.producers; ++i)
    asio::co_spawn(io, producer(), asio::bind_cancellation_slot(accepting.slot(), rethrow));
  for (std::int64_t i = 0; i < params.workers; ++i)
    asio::co_spawn(io, worker(), asio::bind_cancellation_slot(abort_now.slot(), rethrow));
  io.run();  // returns when every coroutine has finished: every producer and worker has returned
  return record(ledger, run);
}

}  // namespace graceful_shutdown
