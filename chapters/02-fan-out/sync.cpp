// Chapter 02 — fan-out/fan-in, the BLOCKING way: a thread per backend call.  Twin of async.cpp:
// `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: N calls, N std::jthreads, each parked in connect/write/read on its own
// socket until the backend answers.  --max-in-flight K makes all but K of them wait on a
// counting semaphore (they exist, they just wait).  Fail-fast: the first failure requests stop;
// a thread blocked in read() cannot be interrupted, so the stop callback shuts its socket down
// under it, and the blocked read returns with an error.  How the threads are started and
// joined (as soon as each call ends: --join-threads) is call_threads.cpp's business.
#include <atomic>
#include <chrono>
#include <semaphore>
#include <stop_token>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/02-fan-out/scenario.hpp"
#include "common/defer.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace fan_out {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  const auto start = std::chrono::steady_clock::now();
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io;  // sockets need one; nobody runs it: every call below blocks its thread
  const bool fail_fast = params.policy == "fail-fast";
  std::vector<CallResult> results(workload.size());
  const auto limit = params.max_in_flight > 0 ? params.max_in_flight : static_cast<std::int64_t>(workload.size());
  // A counting semaphore with `limit` slots: acquiring takes one (and waits while none is
  // free), releasing gives it back.
  std::counting_semaphore<> slots(static_cast<std::ptrdiff_t>(limit));
  std::stop_source stop;                   // fail-fast: the first failure asks every other call to stop
  std::atomic<std::int64_t> in_flight{0};  // every call has a thread: atomics
  std::atomic<std::int64_t> peak_in_flight{0};

  // One call: wait for a slot, connect, send the request, block until the answer is in.  A
  // failure is thrown; the thread that ran the call hands it to `settle` below.
  auto call = [&](std::size_t i) {
    const auto& request = workload.requests()[i];
    auto& result = results[i];
    const auto task = static_cast<std::int64_t>(i);
    wb::event(task, "wait for a slot");
    // Parks this thread while max-in-flight calls run; a call stopped meanwhile returns, before it began.
    slots.acquire();
    const wb::Defer release([&] { slots.release(); });
    if (stop.stop_requested()) return;  // its result stays "cancelled"
    const InFlight counted(in_flight, peak_in_flight);
    const wb::Span span(task, "call " + std::to_string(i));
    const auto call_start = std::chrono::steady_clock::now();
    tcp::socket socket(io);
    socket.open(tcp::v4());
    // Cancellation, the blocking way: another thread cannot wake a thread parked in read(),
    // but it can shut the socket down under it, which makes the read return an error.
    std::stop_callback on_stop(stop.get_token(), [&socket] { ::shutdown(socket.native_handle(), SHUT_RDWR); });
    wb::event(task, "connect");
    socket.connect(endpoint);
    http::request<http::empty_body> req{http::verb::get, request.target(), 11};
    req.set(http::field::host, workload.endpoint().host);
    req.keep_alive(false);  // the backend closes first, so TIME_WAIT stays on its side
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    wb::event(task, "wait for the answer");
    http::read(socket, buffer, res);  // parks this thread until the backend answers
    wb::event(task, "answer");
    result.digest = wb::check_answer(request, res.result_int(), res.body());
    result.status = CallStatus::ok;
    run.latency().record((std::chrono::steady_clock::now() - call_start).count());
  };

  // Exception policy: a call's exception becomes its status.
  // A call ended by our own stop is "cancelled"; under fail-fast, the first real failure stops the rest.
  auto settle = [&](std::size_t i, std::exception_ptr e) {
    if (!e) return;
    results[i] = ended_by(e, stop.stop_requested());
    if (fail_fast && results[i].status == CallStatus::failed) stop.request_stop();
  };
  // A thread per call; returns when every one has been joined: the fan-in point.
  run_call_threads(
      workload.size(), call, settle, params.join_threads == "as-they-finish", [&] { stop.request_stop(); }, run);

  const double fan_in_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  record_calls(results, peak_in_flight, fan_in_ms, run);
  return {static_cast<std::uint64_t>(workload.size()), fan_in(results, fail_fast)};
}

}  // namespace fan_out
