// Chapter 12 — the two async variants without a blocking twin: `co-spawn-rethrow` (the handler
// many examples write so that nothing is swallowed) and `as-tuple` (errors as values).  The
// child itself is async.cpp's run_child.
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/12-errors-across-tasks/async_child.hpp"
#include "common/trace.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;

namespace errors_across_tasks {

namespace {

// as-tuple's child: run_child, with a thrown failure turned into an error value at its edge.
asio::awaitable<std::error_code> as_value(Children& children, std::int64_t child) {
  try {
    co_return co_await run_child(children, child);
  } catch (const ChildFailure& f) {
    co_return failure_code(f.transient);
  }
}

}  // namespace

// The handler rethrows: the exception leaves io_context::run(), and the loop stops with every
// other child suspended in it.  An error value, though, is dropped by that handler.
void rethrow_from_the_loop(Children& children) {
  asio::io_context io(1);
  for (std::int64_t i = 0; i < children.params().children; ++i)
    asio::co_spawn(io, run_child(children, i), [](std::exception_ptr e, std::error_code) {
      if (e) std::rethrow_exception(e);
    });
  wb::event(-1, "wait for the child");
  try {
    io.run();
  } catch (const ChildFailure& f) {
    children.observed(f.child, "io_context::run() (rethrown; the loop stopped)");
    // The other children are still suspended in `io`, and nothing runs them now: calling
    // io.run() again would, if the program knew to.
  }
}

// A waiter per child reads its outcome as a value: nothing is thrown anywhere.
void as_values(Children& children) {
  asio::io_context io(1);
  // The lambda outlives its coroutines — they run inside io.run() below — and takes the
  // child's number as a parameter, which the coroutine frame copies: a capture would live in
  // the lambda object, not in the frame.
  auto waiter = [&](std::int64_t i) -> asio::awaitable<void> {
    wb::event(i, "wait for the child");
    const auto [e, ec] = co_await asio::co_spawn(io, as_value(children, i), asio::as_tuple(use_awaitable));
    if (e || ec) children.observed(i, e ? "as_tuple (exception_ptr)" : "as_tuple (an error value)");
  };
  for (std::int64_t i = 0; i < children.params().children; ++i) asio::co_spawn(io, waiter(i), asio::detached);
  io.run();
}

}  // namespace errors_across_tasks
