// Chapter 08 — a circuit breaker, the ASYNC way.  Twin of sync.cpp: `diff sync.cpp async.cpp`
// is the lesson.
//
// Concurrency model: a coroutine per client on one io_context thread.  A call suspends its
// coroutine until the backend answers or the timer fires (`call || timer`: the loser is
// cancelled).  During a stall every caller waits a whole timeout per call — on a timer, not a
// thread — unless the breaker is open, when a call is refused before it starts.
#include <exception>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/08-circuit-breaker/scenario.hpp"
#include "common/backend_call.hpp"
#include "common/first_error.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using namespace asio::experimental::awaitable_operators;

namespace circuit_breaker {

namespace {
// The call as a value: `||` waits for the first to *succeed*, so a call that failed must
// return, not throw, or the caller would wait for the timer anyway.
asio::awaitable<Calls::Ended> attempt(tcp::endpoint endpoint, wb::WorkRequest request) {
  try {
    co_await wb::call_backend(endpoint, request);
    co_return Calls::Ended::ok;
  } catch (const std::exception&) {
    co_return Calls::Ended::failed;  // an error answer (or cancelled: then the timer has won)
  }
}
}  // namespace

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs every client
  const auto start = Clock::now();
  Calls calls(params, start);
  wb::FirstError error;

  // A client: a call every call_every_ms (staggered), through the breaker, until the end.
  auto client = [&](std::int64_t c) -> asio::awaitable<void> {
    asio::steady_timer timer(io);
    for (std::int64_t k = 0;; ++k) {
      k = calls.skip_missed(c, k);  // slots that passed while this client waited
      const auto due = calls.due(c, k);
      if (due >= calls.end()) break;
      timer.expires_at(due);  // late already? then at once
      co_await timer.async_wait(asio::use_awaitable);
      const auto asked = Clock::now();
      const auto permit = calls.ask(asked, run);
      if (!permit) {
        wb::event(c, "refused");
        continue;  // the breaker said no: nothing was sent
      }
      calls.in_flight(+1, run);
      wb::event(c, "wait for the answer");
      timer.expires_at(asked + milliseconds(params.timeout_ms));
      const auto first = co_await (attempt(endpoint, calls.request(c, k)) || timer.async_wait(asio::use_awaitable));
      const auto how = first.index() == 0 ? std::get<0>(first) : Calls::Ended::timed_out;
      calls.in_flight(-1, run);
      wb::event(c, how == Calls::Ended::ok ? "answer" : how == Calls::Ended::failed ? "failed" : "timed out");
      calls.ended(asked, *permit, how, run);
    }
  };

  // Exception policy: the clients handle what calls do; an exception reaching here is a bug.
  for (std::int64_t c = 0; c < params.clients; ++c) {
    asio::co_spawn(io, client(c), error.handler());
  }
  io.run();
  error.rethrow();
  return calls.record(params, run);
}

}  // namespace circuit_breaker
