#include "chapters/12-errors-across-tasks/scenario.hpp"

#include <algorithm>
#include <cstdlib>

#include <unistd.h>

#include "common/digest.hpp"
#include "common/files.hpp"
#include "common/process.hpp"
#include "common/trace.hpp"

namespace errors_across_tasks {

namespace {
const char* kJoining[] = {"async-future", "jthread-ptr", "co-spawn-handler", "parallel-group", "as-tuple"};
}

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c(
      {.name = "errors-across-tasks",
       .title = "Errors across tasks: where a child's failure surfaces, when, and what it takes with it",
       .sections = {"11", "27"},
       .claims = {"C11", "C25"},
       .ops_unit = "child",
       .variants = {{.name = "thread-terminate",
                     .model = wb::Model::threads,
                     .summary = "std::thread: an escaping exception calls std::terminate (in a child process)",
                     .ends_early = true},
                    {"async-future", wb::Model::threads, "std::async: future::get() rethrows at the join"},
                    {"jthread-ptr", wb::Model::threads, "std::jthread catching into an exception_ptr the parent reads"},
                    {"co-spawn-detached", wb::Model::coroutines,
                     "co_spawn(..., detached): the outcome is dropped, unseen"},
                    {"co-spawn-rethrow", wb::Model::coroutines,
                     "co_spawn with a rethrowing handler: it escapes io_context::run()"},
                    {"co-spawn-handler", wb::Model::coroutines,
                     "co_spawn with a handler taking the exception_ptr: seen at once"},
                    {"parallel-group", wb::Model::coroutines,
                     "make_parallel_group, wait_for_all: every outcome, once all ended"},
                    {"as-tuple", wb::Model::coroutines,
                     "errors as values: error_code results read as tuples, nothing thrown"}},
       .baseline = "async-future",
       .headline = "notice_ms_max"});
  c.knob("--children", params.children, "children the parent starts", 1, 1000, "children");
  c.knob("--failures", params.failures, "children that fail (1, 3, 5, ...; capped at the odd ones there are)", 0, 1000,
         "children");
  c.knob("--failure-kind", params.failure_kind, "exception (the child throws) or error (it returns an error value)",
         {"exception", "error"});
  c.knob("--steps", params.steps, "steps each child makes", 1, 10'000, "steps");
  c.knob("--step-ms", params.step_ms, "how long a step takes", 0, 60'000, "ms");
  c.knob("--fail-at-step", params.fail_at_step,
         "the step at which a failing child fails (0-based; past the last: never)", 0, 10'000, "step");
  c.knob("--transient-attempts", params.transient_attempts,
         "a failure is transient for this many attempts, then the child succeeds (0: permanent, never retried)", 0,
         1000, "attempts");
  c.knob("--retries", params.retries, "retries of a transient failure before giving up", 0, 1000, "retries");
  c.knob("--backoff-ms", params.backoff_ms, "the first retry waits a random time below this; each next one doubles it",
         0, 60'000, "ms");
  c.helper_process("--thread-child", params.thread_child,
                   "internal: thread-terminate runs itself in a child process with this (narrate: and narrates)",
                   {"off", "on", "narrate"}, [&params](std::int64_t seed) { return thread_child(params, seed); });
  c.counter_doc("failures_injected", "failures", "attempts that failed");
  c.counter_doc("failures_retried", "failures", "failures a child handled by retrying");
  c.counter_doc("failures_observed", "failures", "failures the parent saw (the info observed_where says where)");
  c.counter_doc("failures_unaccounted", "failures",
                "injected - retried - observed: failures nobody saw (negative: seen twice)");
  c.counter_doc("notice_ms_max", "ms", "the longest time from a failure to the parent seeing it");
  c.counter_doc("collateral", "children", "children that neither completed nor failed: cut short by another's failure");
  c.counter_doc("completed", "children", "children that completed their steps");
  c.counter_doc("incomplete", "children", "children - completed");
  c.quick_point({{"failure_kind", "exception"}});
  c.quick_point({{"failure_kind", "error"}});
  c.quick_point({{"failure_kind", "exception"}, {"transient_attempts", "2"}});
  for (const char* v : kJoining) {
    for (const char* op : {"<=", ">="}) {
      c.invariant({.id = std::string(v) + (std::string(op) == "<=" ? "-none-unseen" : "-none-seen-twice"),
                   .claim = "C25",
                   .where = {},
                   .lhs = std::string(v) + ".failures_unaccounted",
                   .op = op,
                   .rhs = "0",
                   .why = "a parent that joins its children sees every failure not retried, exactly once"});
    }
    c.invariant({.id = std::string(v) + "-retries-recover",
                 .claim = "C25",
                 .where = {{"transient_attempts", 2}},
                 .lhs = std::string(v) + ".incomplete",
                 .op = "<=",
                 .rhs = "0",
                 .why = "a failure transient for two attempts is retried away within three retries"});
  }
  c.invariant({.id = "rethrown-exception-takes-the-others",
               .claim = "C25",
               .where = {{"failure_kind", "exception"}, {"transient_attempts", 0}},
               .lhs = "co-spawn-rethrow.collateral",
               .op = ">",
               .rhs = "0",
               .why = "an exception escaping io_context::run() stops every other task on it"});
  c.invariant({.id = "detached-sees-nothing",
               .claim = "C25",
               .where = {},
               .lhs = "co-spawn-detached.failures_observed",
               .op = "<=",
               .rhs = "0",
               .why = "`detached` ignores the outcome it is handed: no failure reaches anyone"});
  c.invariant({.id = "thread-exception-terminates",
               .claim = "C25",
               .where = {{"failure_kind", "exception"}, {"transient_attempts", 0}},
               .lhs = "thread-terminate.collateral",
               .op = ">",
               .rhs = "0",
               .why = "an exception escaping a std::thread calls std::terminate: the whole process goes"});
  c.claim({.id = "detached-errors-never-arrive",
           .claim = "C25",
           .where = {{"failure_kind", "error"}, {"transient_attempts", 0}},
           .lhs = "co-spawn-detached.failures_observed",
           .op = "<",
           .rhs = "co-spawn-detached.failures_injected",
           .why = "a failure in a spawned task does not reach its spawner by itself"});
  c.claim({.id = "future-surfaces-at-the-join",
           .claim = "C25",
           .where = {{"failure_kind", "exception"}, {"transient_attempts", 0}},
           .lhs = "async-future.notice_ms_max",
           .op = ">=",
           .factor = 2,
           .rhs = "co-spawn-handler.notice_ms_max",
           .why = "a stored exception is seen when the parent reaches get(), not when it happens"});
  c.claim({.id = "collect-all-waits-for-all",
           .claim = "C11",
           .where = {{"failure_kind", "exception"}, {"transient_attempts", 0}},
           .lhs = "parallel-group.notice_ms_max",
           .op = ">=",
           .factor = 2,
           .rhs = "co-spawn-handler.notice_ms_max",
           .why = "waiting for all children waits on after one has failed"});
  // workbench lab errors-across-tasks: what a student guesses before the run.
  const std::string dir = "chapters/12-errors-across-tasks/";
  c.prediction(
      {.id = "detached-sees",
       .question = "6 children, 2 of them fail with an error value: how many failures does the parent of co_spawn(..., "
                   "detached) see?",
       .claim = "C25",
       .where = {{"failure_kind", "error"}},
       .measure = "co-spawn-detached.failures_observed",
       .unit = "failures",
       .min = 0,
       .max = 1000,
       .close = 1.5,
       .explain = {
           {dir + "async.cpp", "asio::co_spawn(io, run_child(children, i), asio::detached);",
            "detached: the outcome goes nowhere"},
           {dir + "async.cpp",
            "asio::co_spawn(io, run_child(children, i), [&children, i](std::exception_ptr e, std::error_code ec) {",
            "a handler: each outcome when its child ends"}}});
  c.prediction(
      {.id = "noticed-first",
       .question = "A child throws at its first step while the others run on: which way has seen every failure sooner?",
       .claim = "C25",
       .where = {{"failure_kind", "exception"}},
       .measure = "lowest notice_ms_max",
       .choices = {"async-future", "co-spawn-handler"},
       .explain = {
           {dir + "sync.cpp", "std::vector<std::future<std::error_code>> futures;",
            "a future is read at the join, child by child"},
           {dir + "async.cpp",
            "asio::co_spawn(io, run_child(children, i), [&children, i](std::exception_ptr e, std::error_code ec) {",
            "a handler runs as the child ends"}}});
  return c;
}

ChildFailure::ChildFailure(std::int64_t c, bool t)
    : std::runtime_error("child " + std::to_string(c) + ": " + (t ? "transient" : "permanent") + " failure"),
      child(c),
      transient(t) {}

std::error_code failure_code(bool transient) {
  return std::make_error_code(transient ? std::errc::resource_unavailable_try_again : std::errc::io_error);
}

Children::Children(const Params& params, std::int64_t seed)
    : p_(params), seed_(seed), failed_at_us_(static_cast<std::size_t>(params.children)), start_(Clock::now()) {}

bool Children::fails_now(std::int64_t child, std::int64_t attempt, std::int64_t step) const {
  const bool failing = child % 2 == 1 && child / 2 < p_.failures;
  if (!failing || step != p_.fail_at_step) return false;
  return p_.transient_attempts == 0 || attempt < p_.transient_attempts;
}

std::chrono::milliseconds Children::backoff(std::int64_t child, std::int64_t attempt) const {
  const auto cap = p_.backoff_ms << std::min<std::int64_t>(attempt, 20);
  if (cap <= 0) return std::chrono::milliseconds(0);
  // A hash of (seed, child, attempt): the same jitter in every variant and every process.
  std::uint64_t x = static_cast<std::uint64_t>(seed_) * 0x9E3779B97F4A7C15ULL ^
                    static_cast<std::uint64_t>(child) << 32 ^ static_cast<std::uint64_t>(attempt);
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 29;
  return std::chrono::milliseconds(static_cast<std::int64_t>(x % static_cast<std::uint64_t>(cap)));
}

void Children::report(char letter) const {
  if (report_fd_ >= 0 && ::write(report_fd_, &letter, 1) != 1) std::_Exit(3);
}

void Children::retried() {
  ++retried_;
  report('r');
}

void Children::completed() {
  ++completed_;
  report('c');
}

void Children::gave_up() {
  ++gave_up_;
  report('g');
}

void Children::injected(std::int64_t child) {
  ++injected_;
  report('i');
  failed_at_us_[static_cast<std::size_t>(child)] =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count();
}

void Children::observed(std::int64_t child, const std::string& where) {
  ++observed_;
  report('o');
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count();
  const auto us = now - failed_at_us_[static_cast<std::size_t>(child)].load();
  auto seen = notice_us_max_.load();
  while (us > seen && !notice_us_max_.compare_exchange_weak(seen, us)) {
  }
  const std::lock_guard lock(where_mu_);
  if (where_.find(where) == std::string::npos) where_ += (where_.empty() ? "" : ", ") + where;
}

void Children::add(const std::string& letters) {
  for (const char letter : letters) {
    auto& n = letter == 'i'   ? injected_
              : letter == 'r' ? retried_
              : letter == 'c' ? completed_
              : letter == 'g' ? gave_up_
                              : observed_;
    ++n;
  }
}

wb::Outcome Children::record(wb::Run& run, const std::string& where_if_none) {
  const auto injected = injected_.load(), retried = retried_.load(), observed = observed_.load();
  const auto completed = completed_.load();
  run.counter("failures_injected", static_cast<double>(injected));
  run.counter("failures_retried", static_cast<double>(retried));
  run.counter("failures_observed", static_cast<double>(observed));
  run.counter("failures_unaccounted", static_cast<double>(injected - retried - observed));
  run.counter("notice_ms_max", static_cast<double>(notice_us_max_.load()) / 1000.0);
  run.counter("collateral", static_cast<double>(std::max<std::int64_t>(0, p_.children - completed - gave_up_.load())));
  run.counter("completed", static_cast<double>(completed));
  run.counter("incomplete", static_cast<double>(p_.children - completed));
  {
    const std::lock_guard lock(where_mu_);
    // Where nothing was seen: say why only when there was something to see.
    run.info("observed_where", !where_.empty() ? where_ : injected - retried > 0 ? where_if_none : "-");
  }
  // The outcomes differ by design (that is the lesson); what every variant shares is the plan
  // it ran: which children fail, at which step, how, and for how many attempts.
  wb::Digest d;
  for (std::int64_t child = 0; child < p_.children; ++child)
    for (std::int64_t attempt = 0; attempt <= p_.retries; ++attempt)
      for (std::int64_t step = 0; step < p_.steps; ++step) d.update_u64(fails_now(child, attempt, step) ? 1 : 0);
  d.update(p_.failure_kind.data(), p_.failure_kind.size());
  return {static_cast<std::uint64_t>(p_.children), wb::Digest::hex(d.finish())};
}

wb::Outcome in_a_child_process(Children& children, wb::Run& run) {
  const wb::TempDir tmp("wb-errors");
  wb::ProcessSpec spec;
  spec.argv = {wb::self_executable()};
  spec.argv.insert(spec.argv.end(), run.args().begin(), run.args().end());  // this trial's knobs and --seed
  spec.argv.insert(spec.argv.end(), {"--thread-child", wb::tracing() ? "narrate" : "on"});
  spec.stdout_path = tmp.file("events");  // stderr is ours: std::terminate's last words, the narration
  spec.timeout = std::chrono::seconds(120);
  const auto result = wb::run_process(spec);
  if (!result.started) throw std::runtime_error("cannot start the child process: " + result.start_error);
  children.add(wb::read_text_file(tmp.file("events")));
  run.info("child_process", result.describe());
  return children.record(run, result.signal ? "nowhere: std::terminate ended the process (" + result.describe() + ")"
                                            : "the join, in the child process (an error value)");
}

}  // namespace errors_across_tasks
