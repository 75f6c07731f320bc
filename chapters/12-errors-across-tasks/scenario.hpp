// Chapter 12 — errors across tasks (§11, §27): what the eight variants share.
//
// The scenario: a parent starts --children children; each makes --steps steps of --step-ms.
// --failures of them (children 1, 3, 5, ...) fail at step --fail-at-step, by throwing or by
// returning an error value (--failure-kind).  A failure is permanent, or transient for the
// first --transient-attempts attempts (the next attempt succeeds); a child retries a transient
// failure up to --retries times after an exponential backoff with full jitter (a random wait
// below --backoff-ms · 2^(retry-1)), and never retries a permanent one.  Where does a failure
// that escapes a child surface, when, and what does it take with it?
//   thread-terminate   std::thread: an exception escaping the thread's function calls
//                      std::terminate and the whole process aborts (run in a child process);
//   async-future       std::async: the exception is stored and rethrown by future::get();
//   jthread-ptr        std::jthread whose body catches into an exception_ptr slot;
//   co-spawn-detached  co_spawn(..., detached): `detached` ignores what it is handed — the
//                      exception and the error value vanish unseen (Boost 1.81);
//   co-spawn-rethrow   co_spawn with a handler that rethrows: the exception escapes
//                      io_context::run() and stops every other task on it;
//   co-spawn-handler   co_spawn with a handler taking (exception_ptr, result): seen at once;
//   parallel-group     make_parallel_group(...).async_wait(wait_for_all()): every child's
//                      exception_ptr and result, together, once all have ended;
//   as-tuple           errors as values all the way: the child catches at its boundary and
//                      returns an error_code, the parent reads (exception_ptr, error_code)
//                      tuples (as_tuple) and never catches.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "common/chapter.hpp"

namespace errors_across_tasks {

using Clock = std::chrono::steady_clock;

struct Params {
  std::int64_t children = 6;
  std::int64_t failures = 2;
  std::string failure_kind = "exception";  // exception | error
  std::int64_t steps = 5;
  std::int64_t step_ms = 10;
  std::int64_t fail_at_step = 1;
  std::int64_t transient_attempts = 0;  // 0: permanent
  std::int64_t retries = 3;
  std::int64_t backoff_ms = 5;
  std::string thread_child = "off";  // on: this process is thread-terminate's child (internal)
};

wb::Chapter make_chapter(Params& params);

// What a failing attempt throws (--failure-kind exception).
struct ChildFailure : std::runtime_error {
  ChildFailure(std::int64_t child, bool transient);
  std::int64_t child;
  bool transient;
};
// The error value for the same failure (--failure-kind error, and as-tuple's conversion):
// errc::resource_unavailable_try_again when transient, errc::io_error when permanent.
std::error_code failure_code(bool transient);

// The plan and the tally every variant shares.  Safe from any thread.
class Children {
 public:
  Children(const Params& params, std::int64_t seed);  // seed: --seed, the backoff's jitter
  const Params& params() const { return p_; }
  // Whether child `child`'s attempt `attempt` fails at step `step`.
  bool fails_now(std::int64_t child, std::int64_t attempt, std::int64_t step) const;
  bool transient() const { return p_.transient_attempts > 0; }
  bool throws() const { return p_.failure_kind == "exception"; }
  // Whether a failure of attempt `attempt` (0-based) is retried, and the wait before it: full
  // jitter, drawn from --seed, so every variant waits the same.
  bool retry(std::int64_t attempt) const { return transient() && attempt < p_.retries; }
  std::chrono::milliseconds backoff(std::int64_t child, std::int64_t attempt) const;

  // The events, as they happen (each also one letter to the report descriptor, if set).
  void injected(std::int64_t child);                            // a failure happens now: 'i'
  void retried();                                               // it is retried: 'r'
  void completed();                                             // a child completed: 'c'
  void gave_up();                                               // a child ends with a failure: 'g'
  void observed(std::int64_t child, const std::string& where);  // the parent saw it: 'o'
  // thread-terminate's child process reports each event as a letter on this descriptor, so
  // that what happened before an abort survives it.
  void report_to(int fd) { report_fd_ = fd; }
  // thread-terminate's parent: the letters its child process wrote.
  void add(const std::string& letters);
  // Children that neither completed nor gave up were cut short by another's failure.
  wb::Outcome record(wb::Run& run, const std::string& where_if_none);

 private:
  const Params& p_;
  std::int64_t seed_;
  void report(char letter) const;
  std::atomic<std::int64_t> injected_{0}, retried_{0}, completed_{0}, gave_up_{0}, observed_{0}, notice_us_max_{0};
  int report_fd_ = -1;
  std::vector<std::atomic<std::int64_t>> failed_at_us_;  // per child: when its last failure happened
  Clock::time_point start_;
  std::mutex where_mu_;
  std::string where_;
};

// Nothing to set up: every child is started inside the measured region.
using Workload = wb::NoSetUp;

// run.variant() picks the way: thread-terminate, async-future, jthread-ptr (sync.cpp);
// co-spawn-detached, parallel-group, co-spawn-handler (async.cpp); co-spawn-rethrow, as-tuple
// (async_extras.cpp).
wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);
// thread-terminate's child process (--thread-child on): the children on std::threads; reports
// on stdout.  Chapter::helper_process runs it instead of a trial.
int thread_child(const Params& params, std::int64_t seed);
// thread-terminate's parent: runs this program again as thread_child with the trial's knobs,
// and counts the letters it wrote, however it ended.
wb::Outcome in_a_child_process(Children& children, wb::Run& run);

}  // namespace errors_across_tasks
