// Chapter 03 — timeouts, the ASYNC way.  Twin of sync.cpp: `diff sync.cpp async.cpp` is the
// lesson.
//
// Concurrency model: K worker coroutines on one io_context thread make the calls with Beast's
// async API.  The deadline is a timer raced against the call with the awaitable operator `||`:
// whichever finishes first wins, and the other receives a *terminal* cancellation.  When the
// timer wins, the call's pending socket operation completes at once with operation_aborted, the
// call coroutine unwinds and its socket closes — before `||` returns.  The timeout really ends
// the operation; nothing is left running, unlike sync.cpp's std::future.
#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/03-timeouts/scenario.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace timeouts {

namespace {

// One call, start to end, suspended (not blocked) while the backend works.  It takes what it
// needs by value; `tally` outlives it (io.run() returns only after every call has finished).
asio::awaitable<Answer> async_call(tcp::endpoint endpoint, wb::WorkRequest request, Tally& tally) {
  const Running running(tally.running);
  const auto task = static_cast<std::int64_t>(request.id);
  tcp::socket socket(co_await asio::this_coro::executor);
  wb::event(task, "connect");
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  http::request<http::empty_body> req{http::verb::get, request.target(), 11};
  req.set(http::field::host, endpoint.address().to_string());
  req.keep_alive(false);
  co_await http::async_write(socket, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  wb::event(task, "wait for the answer");
  auto [ec, n] = co_await http::async_read(socket, buffer, res, asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted) ++tally.deadline_completions;  // the deadline: cancelled, as a value
  if (ec) throw beast::system_error(ec);
  wb::event(task, "answer");
  co_return Answer{res.result_int(), res.body()};
}

}  // namespace

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs every call
  Tally tally(workload.size());
  std::size_t next_call = 0;  // one thread runs every coroutine: no atomics needed

  // One worker: takes the next call, makes it with a deadline, records how it ended.
  auto worker = [&]() -> asio::awaitable<void> {
    for (std::size_t i; (i = next_call++) < workload.size();) {
      const auto& request = workload.requests()[i];
      auto& result = tally.results[i];
      const wb::Span span(static_cast<std::int64_t>(i), "call " + std::to_string(i));
      const auto start = Clock::now();
      const auto deadline = start + std::chrono::milliseconds(params.deadline_ms);
      try {
        asio::steady_timer timer(io, deadline);
        // The race: the call or the deadline, whichever comes first; the loser is cancelled.
        auto winner = co_await (async_call(endpoint, request, tally) || timer.async_wait(asio::use_awaitable));
        if (auto* answer = std::get_if<0>(&winner)) {
          result = {CallStatus::ok, wb::check_answer(request, answer->status, answer->body)};
          run.latency().record((Clock::now() - start).count());
        } else {
          result.status = CallStatus::timed_out;
          tally.overshoot.record((Clock::now() - deadline).count());
          wb::event(static_cast<std::int64_t>(i), "timed out");
        }
      } catch (const std::exception&) {
        result.status = CallStatus::failed;
      }
    }
  };
  for (std::int64_t k = 0; k < params.concurrency; ++k) {
    // Exception policy: the worker catches every call's exception itself; anything that still
    // escapes is a bug, rethrown from io.run() by this handler.
    asio::co_spawn(io, worker(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  io.run();  // every caller has its answer or its timeout here

  const std::int64_t still_running = tally.running;
  record(tally, still_running, run);
  return {static_cast<std::uint64_t>(workload.size()), digest_of(tally.results)};
}

}  // namespace timeouts
