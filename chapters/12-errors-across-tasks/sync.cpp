// Chapter 12 — errors across tasks, the BLOCKING ways (variants `thread-terminate`,
// `async-future`, `jthread-ptr`).  Twin of async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a thread per child.  The three ways sit in the same order as their async
// twins: nobody receives the failure, every outcome at the join, each outcome when its child ends.
#include <exception>
#include <future>
#include <thread>
#include <vector>

#include "chapters/12-errors-across-tasks/scenario.hpp"
#include "common/trace.hpp"

namespace errors_across_tasks {

namespace {

// One attempt: --steps steps; at the failing step, throw or return the error.
std::error_code one_attempt(Children& children, std::int64_t child, std::int64_t attempt) {
  for (std::int64_t step = 0; step < children.params().steps; ++step) {
    wb::event(child, "wait for the step");
    std::this_thread::sleep_for(std::chrono::milliseconds(children.params().step_ms));
    if (children.fails_now(child, attempt, step)) {
      children.injected(child);
      if (children.throws()) throw ChildFailure(child, children.transient());
      return failure_code(children.transient());
    }
  }
  return {};
}

// A child: attempts, retrying a transient failure after a backoff; a permanent one (or the
// last) leaves the child, thrown or returned.
std::error_code run_child(Children& children, std::int64_t child) {
  for (std::int64_t attempt = 0;; ++attempt) {
    try {
      const auto ec = one_attempt(children, child, attempt);
      if (!ec) {
        children.completed();
        return ec;
      }
      if (!children.retry(attempt)) {
        children.gave_up();
        return ec;
      }
    } catch (const ChildFailure&) {
      if (!children.retry(attempt)) {
        children.gave_up();
        throw;
      }
    }
    children.retried();
    wb::event(child, "wait for the backoff");
    std::this_thread::sleep_for(children.backoff(child, attempt));
  }
}

// thread-terminate: a thread has no one to hand an exception to.  One escaping run_child
// leaves the thread's function, and that calls std::terminate: the process ends (which is why
// this variant runs in a child process).  An error value reaches the join.
void nobody_receives(Children& children) {
  std::vector<std::error_code> returned(static_cast<std::size_t>(children.params().children));
  std::vector<std::thread> threads;
  for (std::int64_t i = 0; i < children.params().children; ++i)
    threads.emplace_back([&, i] { returned[static_cast<std::size_t>(i)] = run_child(children, i); });
  wb::event(-1, "wait for the child");
  for (auto& t : threads) t.join();
  for (std::int64_t i = 0; i < children.params().children; ++i)
    if (returned[static_cast<std::size_t>(i)]) children.observed(i, "the join (an error value)");
}

// async-future: every outcome at the join, child by child.  std::async stores the exception in
// the future, and future::get() rethrows it whenever the parent gets there.
void at_the_join(Children& children) {
  std::vector<std::future<std::error_code>> futures;
  for (std::int64_t i = 0; i < children.params().children; ++i)
    futures.push_back(std::async(std::launch::async, [&, i] { return run_child(children, i); }));
  for (std::int64_t i = 0; i < children.params().children; ++i) {
    wb::event(i, "wait for the child");
    std::exception_ptr e;
    std::error_code ec;
    try {
      ec = futures[static_cast<std::size_t>(i)].get();  // rethrows here
    } catch (const ChildFailure&) {
      e = std::current_exception();
    }
    if (e || ec) children.observed(i, e ? "future::get() (rethrown)" : "future::get() (an error value)");
  }
}

// jthread-ptr: each child hands its outcome over when it ends — by hand, catching into an
// exception_ptr the parent reads after the join: what std::async does for you.
void when_it_ends(Children& children) {
  std::vector<std::exception_ptr> thrown(static_cast<std::size_t>(children.params().children));
  std::vector<std::error_code> returned(static_cast<std::size_t>(children.params().children));
  {
    std::vector<std::jthread> threads;
    for (std::int64_t i = 0; i < children.params().children; ++i)
      threads.emplace_back([&, i] {
        try {
          returned[static_cast<std::size_t>(i)] = run_child(children, i);
        } catch (...) {
          thrown[static_cast<std::size_t>(i)] = std::current_exception();  // kept for the parent
        }
      });
    wb::event(-1, "wait for the child");
  }  // joined here
  for (std::int64_t i = 0; i < children.params().children; ++i) {
    const auto& e = thrown[static_cast<std::size_t>(i)];
    if (e || returned[static_cast<std::size_t>(i)])
      children.observed(i, e ? "after the join (exception_ptr)" : "after the join (an error value)");
  }
}

}  // namespace

// thread-terminate's child process: the children on threads, each event a letter on stdout,
// written at once, so that what happened before std::terminate survives it.
int thread_child(const Params& params, std::int64_t seed) {
  if (params.thread_child == "narrate")
    wb::start_tracing({.narrate = true, .trace_file = {}, .process_label = "thread-terminate", .pid_for_trace = 1});
  Children children(params, seed);
  children.report_to(1);
  nobody_receives(children);
  return 0;
}

wb::Outcome run_sync(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  const std::string& variant = run.variant().name();
  Children children(params, run.seed());
  if (variant == "thread-terminate") return in_a_child_process(children, run);  // thread_child, above
  if (variant == "async-future")
    at_the_join(children);
  else  // jthread-ptr
    when_it_ends(children);
  return children.record(run, "nowhere");
}

}  // namespace errors_across_tasks
