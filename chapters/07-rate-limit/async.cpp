// Chapter 07 — rate limiting, the ASYNC way.  Twin of sync.cpp: `diff sync.cpp async.cpp` is
// the lesson.
//
// Concurrency model: a coroutine per client on one io_context thread.  A client the limiter
// makes wait suspends on a timer until its turn: with 10,000 clients waiting, 10,000 timers are
// pending and one thread runs them all — the limiter decides *when*, a timer is what waiting
// costs.
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/07-rate-limit/scenario.hpp"
#include "common/backend_call.hpp"
#include "common/first_error.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace rate_limit {

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs every client
  Gate gate(params);
  wb::FirstError error;  // the first failure: the others end early
  // The clients wait here until the gate opens: a timer that never expires, cancelled by the
  // last arrival (cancel() completes every pending wait with operation_aborted).
  asio::steady_timer start_line(io, Clock::time_point::max());

  // A client: wait at the start line; then, for each call, ask the limiter when; wait for that
  // time; make the call.
  auto client = [&](std::int64_t c) -> asio::awaitable<void> {
    if (gate.arrive()) {
      start_line.cancel();
    } else if (!gate.open()) {
      wb::event(c, "wait at the start line");
      co_await start_line.async_wait(
          asio::as_tuple(asio::use_awaitable));  // this coroutine suspends until the last arrives
    }
    asio::steady_timer turn(io);
    for (std::int64_t k = 0; k < params.calls && !error.failed(); ++k) {
      const auto id = static_cast<std::uint64_t>(c * params.calls + k);
      const auto arrived = Clock::now();
      const auto go = gate.ask();
      if (!go) {
        wb::event(c, "refused");
        continue;  // turned away: on to the next call
      }
      if (*go > Clock::now()) {
        wb::event(c, "wait for a turn");
        gate.waiting(+1, run);
        turn.expires_at(*go);
        co_await turn.async_wait(asio::use_awaitable);  // this coroutine suspends until the limiter's time
        gate.waiting(-1, run);
      }
      gate.started(*go, run, arrived);
      wb::event(c, "call");
      co_await wb::call_backend(endpoint, call_request(params, id));
    }
  };

  // Exception policy: the first error (a call that failed) ends the run.
  for (std::int64_t c = 0; c < params.clients; ++c) asio::co_spawn(io, client(c), error.handler());
  io.run();
  error.rethrow();
  return gate.record(params, run);
}

}  // namespace rate_limit
