// Chapter 02 — fan-out/fan-in, the ASYNC way: a coroutine per backend call, all on one thread.
// Twin of sync.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: N calls, N coroutines on one io_context run by this thread; each is
// suspended in async_connect/write/read while the backend works, so the thread serves them all.
// --max-in-flight K makes all but K of them wait on a channel used as a semaphore.  Fail-fast:
// the calls form a parallel group waited on with wait_for_one_error(); the first failure makes
// the group emit a terminal cancellation to every other call, whose pending operation (a read,
// a connect, the wait for a slot) completes at once with operation_aborted.
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/02-fan-out/scenario.hpp"
#include "common/defer.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace fan_out {

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const auto start = std::chrono::steady_clock::now();
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs every call
  const bool fail_fast = params.policy == "fail-fast";
  std::vector<CallResult> results(workload.size());
  const auto limit = params.max_in_flight > 0 ? params.max_in_flight : static_cast<std::int64_t>(workload.size());
  // A channel with room for `limit` tokens is a semaphore: sending takes a slot (and waits while
  // none is free), receiving gives one back.
  asio::experimental::channel<void(boost::system::error_code)> slots(io, static_cast<std::size_t>(limit));
  // fail-fast: the parallel group below cancels every other call at the first failure
  std::int64_t in_flight = 0;  // one thread runs every call: no atomics needed
  std::int64_t peak_in_flight = 0;

  // One call: wait for a slot, connect, send the request, suspend until the answer is in.  A
  // failure is thrown; the parallel group hands it to `settle` below.
  auto call = [&](std::size_t i) -> asio::awaitable<void> {
    const auto& request = workload.requests()[i];
    auto& result = results[i];
    const auto task = static_cast<std::int64_t>(i);
    wb::event(task, "wait for a slot");
    // Suspends while max-in-flight calls run; a call cancelled meanwhile throws here, before it began.
    co_await slots.async_send(boost::system::error_code{}, asio::use_awaitable);
    const wb::Defer release([&] { slots.try_receive([](boost::system::error_code) {}); });
    const InFlight counted(in_flight, peak_in_flight);
    const wb::Span span(task, "call " + std::to_string(i));
    const auto call_start = std::chrono::steady_clock::now();
    tcp::socket socket(io);
    socket.open(tcp::v4());
    // Cancellation, the coroutine way: the group's cancellation reaches the pending operation
    // through the coroutine's cancellation slot, and it completes with operation_aborted.
    wb::event(task, "connect");
    co_await socket.async_connect(endpoint, asio::use_awaitable);
    http::request<http::empty_body> req{http::verb::get, request.target(), 11};
    req.set(http::field::host, workload.endpoint().host);
    req.keep_alive(false);  // the backend closes first, so TIME_WAIT stays on its side
    co_await http::async_write(socket, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    wb::event(task, "wait for the answer");
    co_await http::async_read(socket, buffer, res, asio::use_awaitable);  // suspends this call only
    wb::event(task, "answer");
    result.digest = wb::check_answer(request, res.result_int(), res.body());
    result.status = CallStatus::ok;
    run.latency().record((std::chrono::steady_clock::now() - call_start).count());
  };

  // Exception policy: a call's exception becomes its status.
  // A call ended by the group's cancellation is "cancelled"; under fail-fast, the group stops the rest.
  auto settle = [&](std::size_t i, std::exception_ptr e) {
    if (!e) return;
    results[i] = ended_by(e, false);
  };
  // A coroutine per call, gathered into one parallel group; run() returns when every one has
  // finished or been cancelled: the fan-in point.
  using Op = decltype(asio::co_spawn(io, call(0), asio::deferred));
  std::vector<Op> ops;
  ops.reserve(workload.size());
  for (std::size_t i = 0; i < workload.size(); ++i) ops.push_back(asio::co_spawn(io, call(i), asio::deferred));
  auto fan_in_point = [&](std::vector<std::size_t> /*completion order*/, std::vector<std::exception_ptr> errors) {
    for (std::size_t i = 0; i < errors.size(); ++i) settle(i, errors[i]);
  };
  auto group = asio::experimental::make_parallel_group(std::move(ops));
  if (fail_fast)
    group.async_wait(asio::experimental::wait_for_one_error(), fan_in_point);
  else
    group.async_wait(asio::experimental::wait_for_all(), fan_in_point);
  io.run();

  const double fan_in_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  record_calls(results, peak_in_flight, fan_in_ms, run);
  return {static_cast<std::uint64_t>(workload.size()), fan_in(results, fail_fast)};
}

}  // namespace fan_out
