// Chapter 12 — errors across tasks, the ASYNC ways (variants `co-spawn-detached`,
// `co-spawn-rethrow`, `co-spawn-handler`, `parallel-group`, `as-tuple`).  Twin of sync.cpp:
// `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a coroutine per child, on one io_context thread.  co_spawn's completion
// token decides where an exception goes: `detached` drops it; a handler that rethrows sends it
// out of io_context::run() — the loop stops, and every other task on it with it; a handler
// that keeps it receives (exception_ptr, result) the moment the child ends; a parallel group hands every child's pair
// over at once, when all have ended; as_tuple turns the pair into a value the parent reads without a try.
#include <exception>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/12-errors-across-tasks/scenario.hpp"
#include "common/trace.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;

namespace errors_across_tasks {

namespace {

// One attempt: --steps steps; at the failing step, throw or return the error.
asio::awaitable<std::error_code> attempt(Children& ch, std::int64_t child, std::int64_t a) {
  asio::steady_timer wait(co_await asio::this_coro::executor);
  for (std::int64_t step = 0; step < ch.params().steps; ++step) {
    wb::event(child, "wait for the step");
    wait.expires_after(std::chrono::milliseconds(ch.params().step_ms));
    co_await wait.async_wait(use_awaitable);
    if (ch.fails_now(child, a, step)) {
      ch.injected(child);
      if (ch.throws()) throw ChildFailure(child, ch.transient());
      co_return failure_code(ch.transient());
    }
  }
  co_return std::error_code{};
}

// A child: attempts, retrying a transient failure after a backoff; a permanent one (or the
// last) leaves the child, thrown or returned.
asio::awaitable<std::error_code> run_child(Children& ch, std::int64_t child) {
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  for (std::int64_t a = 0;; ++a) {
    try {
      const auto ec = co_await attempt(ch, child, a);
      if (!ec) {
        ch.completed();
        co_return ec;
      }
      if (!ch.retry(a)) {
        ch.gave_up();
        co_return ec;
      }
    } catch (const ChildFailure&) {
      if (!ch.retry(a)) {
        ch.gave_up();
        throw;
      }
    }
    ch.retried();
    wb::event(child, "wait for the backoff");
    backoff.expires_after(ch.backoff(child, a));
    co_await backoff.async_wait(use_awaitable);
  }
}

// as-tuple's child: the same, with a thrown failure turned into an error value at its edge.
asio::awaitable<std::error_code> as_value(Children& ch, std::int64_t child) {
  try {
    co_return co_await run_child(ch, child);
  } catch (const ChildFailure& f) {
    co_return failure_code(f.transient);
  }
}

}  // namespace

wb::Outcome run_async(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  const std::string& variant = run.variant().name();
  Children ch(params, run.seed());
  asio::io_context io(1);
  std::string where_if_none = "nowhere";

  if (variant == "co-spawn-detached") {
    // Nobody receives the outcome: `detached` is a handler that ignores its arguments, so an
    // exception and an error value alike vanish without a trace (Boost 1.81).
    for (std::int64_t i = 0; i < params.children; ++i) asio::co_spawn(io, run_child(ch, i), asio::detached);
    wb::event(-1, "wait for the child");
    io.run();
    where_if_none = "nowhere: detached dropped it";
  } else if (variant == "co-spawn-rethrow") {
    // The handler many examples write so that nothing is swallowed: rethrow.  The exception
    // leaves io_context::run(), and the loop stops with every other child suspended in it.
    for (std::int64_t i = 0; i < params.children; ++i)
      asio::co_spawn(io, run_child(ch, i), [](std::exception_ptr e, std::error_code) {
        if (e) std::rethrow_exception(e);  // an error value, though, is dropped here
      });
    wb::event(-1, "wait for the child");
    where_if_none = "nowhere: the handler rethrows exceptions and drops error values";
    try {
      io.run();
    } catch (const ChildFailure& f) {
      ch.observed(f.child, "io_context::run() (rethrown; the loop stopped)");
      // The other children are still suspended in `io`, and nothing runs them now: calling
      // io.run() again would, if the program knew to.
    }
  } else if (variant == "co-spawn-handler") {
    // Exception policy: each child's outcome goes to its handler the moment it ends.
    for (std::int64_t i = 0; i < params.children; ++i)
      asio::co_spawn(io, run_child(ch, i), [&ch, i](std::exception_ptr e, std::error_code ec) {
        if (e || ec)
          ch.observed(i, e ? "the co_spawn handler (exception_ptr)" : "the co_spawn handler (an error value)");
      });
    wb::event(-1, "wait for the child");
    io.run();
  } else if (variant == "parallel-group") {
    // Every child's (exception_ptr, error_code), together, once all have ended.
    auto parent = [&]() -> asio::awaitable<void> {
      std::vector<decltype(asio::co_spawn(io, run_child(ch, 0), asio::deferred))> children;
      for (std::int64_t i = 0; i < params.children; ++i)
        children.push_back(asio::co_spawn(io, run_child(ch, i), asio::deferred));
      wb::event(-1, "wait for the child");
      auto [order, thrown, returned] = co_await asio::experimental::make_parallel_group(std::move(children))
                                           .async_wait(asio::experimental::wait_for_all(), use_awaitable);
      for (std::int64_t i = 0; i < params.children; ++i) {
        const auto& e = thrown[static_cast<std::size_t>(i)];
        if (e || returned[static_cast<std::size_t>(i)])
          ch.observed(i, e ? "the parallel group (exception_ptr)" : "the parallel group (an error value)");
      }
    };
    asio::co_spawn(io, parent(), asio::detached);  // parent() itself never throws: it catches nothing it needs to
    io.run();
  } else {  // as-tuple: a waiter per child reads its outcome as a value; nothing is thrown anywhere
    // (The lambda outlives its coroutines — they run inside io.run() below — and takes the
    // child's number as a parameter, which the coroutine frame copies: a capture would live in
    // the lambda object, not in the frame.)
    auto waiter = [&](std::int64_t i) -> asio::awaitable<void> {
      wb::event(i, "wait for the child");
      const auto [e, ec] = co_await asio::co_spawn(io, as_value(ch, i), asio::as_tuple(use_awaitable));
      if (e || ec) ch.observed(i, e ? "as_tuple (exception_ptr)" : "as_tuple (an error value)");
    };
    for (std::int64_t i = 0; i < params.children; ++i) asio::co_spawn(io, waiter(i), asio::detached);
    io.run();
  }
  return ch.record(run, where_if_none);
}

}  // namespace errors_across_tasks
