// Chapter 04 — graceful shutdown, the ASYNC way.  Twin of sync.cpp: `diff sync.cpp async.cpp`
// is the lesson.
//
// Concurrency model: producer and worker coroutines on one io_context thread around a bounded
// channel (the queue).  asio::signal_set takes SIGINT/SIGTERM: its handler runs as ordinary
// code on the io_context thread, not in a signal handler.  Shutdown has the same two phases as
// sync.cpp: the first signal cancels the producers and starts the drain timer;
// the drain deadline or a second signal emits a terminal cancellation to every worker, whose
// pending socket operation completes at once with operation_aborted.  When the last worker is
// done, nothing is left for the io_context to do, and run() returns.
#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/04-shutdown/scenario.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace graceful {

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs the service
  Ledger ledger;
  bool accepting = true;   // one thread runs every coroutine: plain flags suffice
  bool aborting = false;
  // The queue: a job id and when it was accepted.  Sending waits while it is full (backpressure).
  using Job = std::pair<std::uint64_t, Clock::time_point>;
  asio::experimental::channel<void(boost::system::error_code, Job)> queue(io, static_cast<std::size_t>(params.queue_capacity));
  std::uint64_t next_id = 0;
  std::int64_t producers_left = params.producers;
  std::int64_t workers_left = params.workers;
  std::vector<asio::cancellation_signal> abort_worker(static_cast<std::size_t>(params.workers));
  std::vector<asio::cancellation_signal> stop_producer(static_cast<std::size_t>(params.producers));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer drain_deadline(io);

  auto abort_all = [&] {
    aborting = true;
    for (auto& s : abort_worker) s.emit(asio::cancellation_type::terminal);
  };

  // Producers: submit a job every submit_every_ms until the service stops accepting.  At the
  // first signal each producer is cancelled (its cancellation slot is bound at co_spawn below):
  // the wait for the next interval, or for room in a full queue, completes at once with
  // operation_aborted — a job whose send was cancelled was never accepted.  The last producer
  // out closes the intake: one "no more jobs" marker per worker, behind every real job.
  auto producer = [&]() -> asio::awaitable<void> {
    asio::steady_timer interval(io);
    while (accepting) {
      interval.expires_after(std::chrono::milliseconds(params.submit_every_ms));
      co_await interval.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!accepting) break;
      const auto [ec] = co_await queue.async_send(boost::system::error_code{}, Job{next_id++, Clock::now()},
                                                  asio::as_tuple(asio::use_awaitable));
      if (ec) break;  // cancelled while the queue was full: not accepted
      ++ledger.accepted;
    }
    // The cancellation that stopped this producer must not cancel the markers it sends next.
    co_await asio::this_coro::reset_cancellation_state();
    if (--producers_left == 0) {
      for (std::int64_t i = 0; i < params.workers; ++i) {
        co_await queue.async_send(boost::system::error_code{}, Job{UINT64_MAX, {}}, asio::use_awaitable);
      }
    }
  };

  // Workers: take a job and process it; once aborting, mark what they take aborted.  The call
  // is cancelled through this worker's cancellation slot (bound at co_spawn below).
  auto worker = [&]() -> asio::awaitable<void> {
    for (;;) {
      const auto [ec, job] = co_await queue.async_receive(asio::as_tuple(asio::use_awaitable));
      if (ec || job.first == UINT64_MAX) break;  // no more jobs
      if (aborting) {
        ++ledger.aborted;  // accepted, never started: ended on purpose
        continue;
      }
      const auto request = job_request(params, job.first);
      const wb::Span span(static_cast<std::int64_t>(job.first), "job " + std::to_string(job.first));
      try {
        tcp::socket socket(io);
        co_await socket.async_connect(endpoint, asio::use_awaitable);
        http::request<http::empty_body> req{http::verb::get, request.target(), 11};
        req.set(http::field::host, workload.endpoint().host);
        req.keep_alive(false);
        co_await http::async_write(socket, req, asio::use_awaitable);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        co_await http::async_read(socket, buffer, res, asio::use_awaitable);  // suspends this worker only
        if (res.result_int() != 200 || res.body() != request.body()) throw std::runtime_error("bad answer");
        ++ledger.completed;
        run.latency().record((Clock::now() - job.second).count());
      } catch (const std::exception&) {
        ++ledger.aborted;  // cancelled (or the backend failed): it ended, not lost
        wb::event(static_cast<std::int64_t>(job.first), "aborted");
      }
      // A cancellation that arrives between two jobs must not leak into the next one's first
      // operation; reset the coroutine's cancellation state.
      co_await asio::this_coro::reset_cancellation_state();
    }
    if (--workers_left == 0) {
      // The service is done: stop listening for signals and the drain clock, and the io_context
      // runs out of work.
      signals.cancel();
      drain_deadline.cancel();
    }
  };

  // Signals, handled as ordinary code on this thread.
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int) {
    if (ec) return;  // cancelled: the service ended
    if (++ledger.signals == 1) {
      ledger.first_signal = Clock::now();
      wb::event(-1, "signal: stop accepting, drain");
      accepting = false;
      for (auto& s : stop_producer) s.emit(asio::cancellation_type::terminal);
      drain_deadline.expires_after(std::chrono::milliseconds(params.drain_ms));
      drain_deadline.async_wait([&](boost::system::error_code e) {
        if (e || workers_left == 0) return;
        ledger.drain_overrun = true;
        wb::event(-1, "drain deadline: abort what is left");
        abort_all();
      });
    } else {
      wb::event(-1, "second signal: abort now");
      abort_all();
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  const SelfSignals self_signals(params);
  // Exception policy: producers and workers handle expected errors themselves; an exception
  // reaching these handlers is a bug, rethrown from io.run().
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  for (std::int64_t i = 0; i < params.producers; ++i) {
    asio::co_spawn(io, producer(), asio::bind_cancellation_slot(stop_producer[static_cast<std::size_t>(i)].slot(), rethrow));
  }
  for (std::int64_t i = 0; i < params.workers; ++i) {
    asio::co_spawn(io, worker(), asio::bind_cancellation_slot(abort_worker[static_cast<std::size_t>(i)].slot(), rethrow));
  }
  io.run();  // returns when every producer and worker has finished and nothing else is pending

  record(ledger, run);
  return {static_cast<std::uint64_t>(ledger.completed), "lost=" + std::to_string(ledger.accepted - ledger.completed - ledger.aborted)};
}

}  // namespace graceful
