// Chapter 12 — errors across tasks, the BLOCKING ways (variants `thread-terminate`,
// `async-future`, `jthread-ptr`).  Twin of async.cpp: `diff sync.cpp async.cpp`
// is the lesson.
//
// Concurrency model: a thread per child.  A thread has no one to hand an exception to: one
// that escapes its function calls std::terminate, and the process ends (thread-terminate, run
// in a child process so that this one can report it).  std::async stores the exception in the
// future and future::get() rethrows it — at the join, whenever the parent gets there.  A
// jthread whose body catches into an exception_ptr does by hand what std::async does.
#include <exception>
#include <future>
#include <thread>
#include <vector>

#include "chapters/12-errors-across-tasks/scenario.hpp"
#include "common/files.hpp"
#include "common/process.hpp"
#include "common/trace.hpp"

namespace errors_across_tasks {

namespace {

// One attempt: --steps steps; at the failing step, throw or return the error.
std::error_code attempt(Children& ch, std::int64_t child, std::int64_t a) {
  for (std::int64_t step = 0; step < ch.params().steps; ++step) {
    wb::event(child, "wait for the step");
    std::this_thread::sleep_for(std::chrono::milliseconds(ch.params().step_ms));
    if (ch.fails_now(child, a, step)) {
      ch.injected(child);
      if (ch.throws()) throw ChildFailure(child, ch.transient());
      return failure_code(ch.transient());
    }
  }
  return {};
}

// A child: attempts, retrying a transient failure after a backoff; a permanent one (or the
// last) leaves the child, thrown or returned.
std::error_code run_child(Children& ch, std::int64_t child) {
  for (std::int64_t a = 0;; ++a) {
    try {
      const auto ec = attempt(ch, child, a);
      if (!ec) {
        ch.completed();
        return ec;
      }
      if (!ch.retry(a)) {
        ch.gave_up();
        return ec;
      }
    } catch (const ChildFailure&) {
      if (!ch.retry(a)) {
        ch.gave_up();
        throw;
      }
    }
    ch.retried();
    wb::event(child, "wait for the backoff");
    std::this_thread::sleep_for(ch.backoff(child, a));
  }
}

}  // namespace

int thread_child(const Params& params, std::int64_t seed) {
  if (params.thread_child == "narrate")
    wb::start_tracing({.narrate = true, .trace_file = {}, .process_label = "thread-terminate", .pid_for_trace = 1});
  Children ch(params, seed);
  ch.report_to(1);  // stdout: a letter per event, written at once
  std::vector<std::error_code> results(static_cast<std::size_t>(params.children));
  std::vector<std::thread> children;
  // An exception escaping run_child leaves the thread's function: std::terminate.
  for (std::int64_t i = 0; i < params.children; ++i)
    children.emplace_back([&, i] { results[static_cast<std::size_t>(i)] = run_child(ch, i); });
  wb::event(-1, "wait for the child");
  for (auto& t : children) t.join();
  for (std::int64_t i = 0; i < params.children; ++i)
    if (results[static_cast<std::size_t>(i)]) ch.observed(i, "the join (an error value)");
  return 0;
}

wb::Outcome run_sync(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  const std::string& variant = run.variant().name();
  Children ch(params, run.seed());
  if (variant == "thread-terminate") {
    // This very program again, as thread-terminate's child process; its letters tell what
    // happened before it ended, however it ended.
    const wb::TempDir tmp("wb-errors");
    wb::ProcessSpec spec;
    spec.argv = {wb::self_executable()};
    spec.argv.insert(spec.argv.end(), run.args().begin(), run.args().end());  // this trial's knobs and --seed
    spec.argv.insert(spec.argv.end(), {"--thread-child", wb::tracing() ? "narrate" : "on"});
    spec.stdout_path = tmp.file("events");  // stderr is ours: std::terminate's last words, the narration
    spec.timeout = std::chrono::seconds(120);
    const auto result = wb::run_process(spec);
    if (!result.started) throw std::runtime_error("cannot start the child process: " + result.start_error);
    ch.add(wb::read_text_file(tmp.file("events")));
    run.info("child_process", result.describe());
    return ch.record(run, result.signal ? "nowhere: std::terminate ended the process (" + result.describe() + ")"
                                        : "the join, in the child process (an error value)");
  }

  std::vector<std::exception_ptr> thrown(static_cast<std::size_t>(params.children));
  std::vector<std::error_code> returned(static_cast<std::size_t>(params.children));
  if (variant == "async-future") {
    std::vector<std::future<std::error_code>> children;
    for (std::int64_t i = 0; i < params.children; ++i)
      children.push_back(std::async(std::launch::async, [&, i] { return run_child(ch, i); }));
    for (std::int64_t i = 0; i < params.children; ++i) {
      wb::event(i, "wait for the child");
      try {
        returned[static_cast<std::size_t>(i)] = children[static_cast<std::size_t>(i)].get();  // rethrows here
      } catch (const ChildFailure&) {
        thrown[static_cast<std::size_t>(i)] = std::current_exception();
      }
      const auto& e = thrown[static_cast<std::size_t>(i)];
      if (e || returned[static_cast<std::size_t>(i)])
        ch.observed(i, e ? "future::get() (rethrown)" : "future::get() (an error value)");
    }
  } else {  // jthread-ptr
    {
      std::vector<std::jthread> children;
      for (std::int64_t i = 0; i < params.children; ++i)
        children.emplace_back([&, i] {
          try {
            returned[static_cast<std::size_t>(i)] = run_child(ch, i);
          } catch (...) {
            thrown[static_cast<std::size_t>(i)] = std::current_exception();  // kept for the parent
          }
        });
      wb::event(-1, "wait for the child");
    }  // joined here
    for (std::int64_t i = 0; i < params.children; ++i) {
      const auto& e = thrown[static_cast<std::size_t>(i)];
      if (e || returned[static_cast<std::size_t>(i)])
        ch.observed(i, e ? "after the join (exception_ptr)" : "after the join (an error value)");
    }
  }
  return ch.record(run, "nowhere");
}

}  // namespace errors_across_tasks
