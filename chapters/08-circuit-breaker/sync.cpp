// Chapter 08 — a circuit breaker, the BLOCKING way.  Twin of async.cpp: `diff sync.cpp
// async.cpp` is the lesson.
//
// Concurrency model: a std::thread per client (wb::run_on_threads).  A call blocks its thread
// until the backend answers or the deadline passes (the socket is polled with the time left:
// a blocking read cannot be cancelled).  During a stall every caller's thread is tied up for a
// whole timeout per call — unless the breaker is open, when a call is refused before it starts.
#include <exception>
#include <mutex>
#include <thread>

#include <boost/beast/core/error.hpp>

#include "chapters/08-circuit-breaker/scenario.hpp"
#include "common/backend_call.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

namespace circuit_breaker {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io;  // sockets need one; nobody runs it: every call blocks its thread
  const auto start = Clock::now();
  Calls calls(params, start);
  wb::FirstError error;

  // A client: a call every call_every_ms (staggered), through the breaker, until the end.
  auto client = [&](std::int64_t c) {
    for (std::int64_t k = 0;; ++k) {
      k = calls.skip_missed(c, k);  // slots that passed while this client waited
      const auto due = calls.due(c, k);
      if (due >= calls.end()) break;
      std::this_thread::sleep_until(due);  // late already? then at once
      const auto asked = Clock::now();
      const auto permit = calls.ask(asked, run);
      if (!permit) {
        wb::event(c, "refused");
        continue;  // the breaker said no: nothing was sent
      }
      auto how = Calls::Ended::ok;
      calls.in_flight(+1, run);
      try {
        wb::event(c, "wait for the answer");
        wb::call_backend_blocking(io, endpoint, calls.request(c, k), asked + milliseconds(params.timeout_ms));
      } catch (const boost::system::system_error& e) {
        how = e.code() == boost::beast::error::timeout ? Calls::Ended::timed_out : Calls::Ended::failed;
      } catch (const std::exception&) {
        how = Calls::Ended::failed;  // an error answer
      }
      calls.in_flight(-1, run);
      wb::event(c, how == Calls::Ended::ok ? "answer" : how == Calls::Ended::failed ? "failed" : "timed out");
      calls.ended(asked, *permit, how, run);
    }
  };

  // Exception policy: the clients handle what calls do; an exception reaching here (a thread
  // the OS refused) ends the run.
  wb::run_on_threads(params.clients, client, error.handler());
  error.rethrow();
  return calls.record(params, run);
}

}  // namespace circuit_breaker
