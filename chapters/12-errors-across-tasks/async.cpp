// Chapter 12 — errors across tasks, the ASYNC ways (variants `co-spawn-detached`,
// `parallel-group`, `co-spawn-handler`).  Twin of sync.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a coroutine per child, on one io_context thread.  The three ways sit in the same order as their
// blocking twins: nobody receives the failure, every outcome at the join, each outcome when its child ends. co_spawn's
// completion token decides where an exception goes.  Two variants have no blocking twin: co-spawn-rethrow and as-tuple,
// in async_extras.cpp.
#include <exception>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/12-errors-across-tasks/async_child.hpp"
#include "common/trace.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;

namespace errors_across_tasks {

namespace {

// One attempt: --steps steps; at the failing step, throw or return the error.
asio::awaitable<std::error_code> one_attempt(Children& children, std::int64_t child, std::int64_t attempt) {
  asio::steady_timer wait(co_await asio::this_coro::executor);
  for (std::int64_t step = 0; step < children.params().steps; ++step) {
    wb::event(child, "wait for the step");
    wait.expires_after(std::chrono::milliseconds(children.params().step_ms));
    co_await wait.async_wait(use_awaitable);
    if (children.fails_now(child, attempt, step)) {
      children.injected(child);
      if (children.throws()) throw ChildFailure(child, children.transient());
      co_return failure_code(children.transient());
    }
  }
  co_return std::error_code{};
}

}  // namespace

// A child: attempts, retrying a transient failure after a backoff; a permanent one (or the
// last) leaves the child, thrown or returned.
asio::awaitable<std::error_code> run_child(Children& children, std::int64_t child) {
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  for (std::int64_t attempt = 0;; ++attempt) {
    try {
      const auto ec = co_await one_attempt(children, child, attempt);
      if (!ec) {
        children.completed();
        co_return ec;
      }
      if (!children.retry(attempt)) {
        children.gave_up();
        co_return ec;
      }
    } catch (const ChildFailure&) {
      if (!children.retry(attempt)) {
        children.gave_up();
        throw;
      }
    }
    children.retried();
    wb::event(child, "wait for the backoff");
    backoff.expires_after(children.backoff(child, attempt));
    co_await backoff.async_wait(use_awaitable);
  }
}

namespace {

// co-spawn-detached: nobody receives the outcome.  `detached` is a handler that ignores its
// arguments, so an exception and an error value alike vanish without a trace (Boost 1.81).
void nobody_receives(Children& children) {
  asio::io_context io(1);
  for (std::int64_t i = 0; i < children.params().children; ++i)
    asio::co_spawn(io, run_child(children, i), asio::detached);
  wb::event(-1, "wait for the child");
  io.run();
}

// parallel-group: every outcome at the join — each child's (exception_ptr, error_code),
// together, once all have ended.
void at_the_join(Children& children) {
  asio::io_context io(1);
  auto parent = [&]() -> asio::awaitable<void> {
    std::vector<decltype(asio::co_spawn(io, run_child(children, 0), asio::deferred))> spawned;
    for (std::int64_t i = 0; i < children.params().children; ++i)
      spawned.push_back(asio::co_spawn(io, run_child(children, i), asio::deferred));
    wb::event(-1, "wait for the child");
    auto [order, thrown, returned] = co_await asio::experimental::make_parallel_group(std::move(spawned))
                                         .async_wait(asio::experimental::wait_for_all(), use_awaitable);
    for (std::int64_t i = 0; i < children.params().children; ++i) {
      const auto& e = thrown[static_cast<std::size_t>(i)];
      if (e || returned[static_cast<std::size_t>(i)])
        children.observed(i, e ? "the parallel group (exception_ptr)" : "the parallel group (an error value)");
    }
  };
  asio::co_spawn(io, parent(), asio::detached);  // parent() itself never throws: it catches nothing it needs to
  io.run();
}

// co-spawn-handler: each child's outcome goes to its handler the moment the child ends.
void when_it_ends(Children& children) {
  asio::io_context io(1);
  for (std::int64_t i = 0; i < children.params().children; ++i)
    asio::co_spawn(io, run_child(children, i), [&children, i](std::exception_ptr e, std::error_code ec) {
      if (e || ec)
        children.observed(i, e ? "the co_spawn handler (exception_ptr)" : "the co_spawn handler (an error value)");
    });
  wb::event(-1, "wait for the child");
  io.run();
}

}  // namespace

wb::Outcome run_async(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  const std::string& variant = run.variant().name();
  Children children(params, run.seed());
  if (variant == "co-spawn-detached") {
    nobody_receives(children);
    return children.record(run, "nowhere: detached dropped it");
  }
  if (variant == "parallel-group")
    at_the_join(children);
  else if (variant == "co-spawn-handler")
    when_it_ends(children);
  else if (variant == "co-spawn-rethrow") {  // async_extras.cpp
    rethrow_from_the_loop(children);
    return children.record(run, "nowhere: the handler rethrows exceptions and drops error values");
  } else  // as-tuple (async_extras.cpp)
    as_values(children);
  return children.record(run, "nowhere");
}

}  // namespace errors_across_tasks
