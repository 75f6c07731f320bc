// Chapter 11 — structured concurrency, the ASYNC ways (variants `async-detached`,
// `async-scoped`).  Twin of sync.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a coroutine per helper, on one io_context thread.  Detached (co_spawn with
// `detached`), a helper runs on after its handler returned; scoped (the awaitable operator ||),
// the first answer cancels the others, and the operator completes only when all have ended.
#include <memory>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/11-structured-concurrency/scenario.hpp"
#include "common/first_error.hpp"
#include "common/trace.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;
using std::chrono::milliseconds;

namespace structured_concurrency {

wb::Outcome run_async(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  const bool scoped = run.variant().is("async-scoped");
  asio::io_context io(1);
  Tally tally(run);
  wb::FirstError error;

  // Waits `ms`; cancellation (the scoped variant's ||) ends the wait with an exception.
  auto call = [&](Scope& scope, std::int64_t ms) -> asio::awaitable<void> {
    tally.call(scope);
    wb::event(scope.request, "wait for the call");
    asio::steady_timer wait(io, milliseconds(ms));
    co_await wait.async_wait(use_awaitable);
  };

  // A helper: the needed one makes one call, a speculative one --spec-calls; each answers.
  auto helper = [&](std::shared_ptr<Scope> scope, bool needed) -> asio::awaitable<std::int64_t> {
    const Running running(*scope);
    for (std::int64_t k = 0; k < (needed ? 1 : params.spec_calls); ++k)
      co_await call(*scope, needed ? params.needed_ms : params.call_ms);
    scope->deliver(answer(scope->request));
    co_return answer(scope->request);
  };

  auto handler = [&](std::int64_t r) -> asio::awaitable<void> {
    const auto begin = Clock::now();
    auto scope = std::make_shared<Scope>(r);
    // Shared with the detached helpers' completion handlers, which may run after this returns.
    const auto deadline = std::make_shared<asio::steady_timer>(io, milliseconds(params.deadline_ms));
    wb::event(r, "wait for the first result");
    if (scoped) {
      for (int k = 0; k < 3; ++k) ++scope->running;
      // The first to end well wins; the others are cancelled, and all have ended when it completes.
      co_await (helper(scope, true) || helper(scope, false) || helper(scope, false) ||
                deadline->async_wait(use_awaitable));
    } else {
      for (const bool needed : {true, false, false}) {
        ++scope->running;
        asio::co_spawn(io, helper(scope, needed), [&error, deadline](std::exception_ptr e, std::int64_t) {
          error.keep(e);
          deadline->cancel();  // the first answer (or a failure) wakes the handler
        });
      }
      if (scope->value < 0) co_await deadline->async_wait(asio::as_tuple(use_awaitable));
    }
    tally.handled(*scope, begin, Clock::now());
  };

  auto requests = [&]() -> asio::awaitable<void> {
    for (std::int64_t r = 0; r < params.requests; ++r) co_await handler(r);
    tally.last_returned();
  };
  // Exception policy: the first exception ends the run with it.  io.run() returns only when
  // the detached helpers too have ended.
  asio::co_spawn(io, requests(), error.handler());
  io.run();
  error.rethrow();
  return tally.record(params);
}

}  // namespace structured_concurrency
