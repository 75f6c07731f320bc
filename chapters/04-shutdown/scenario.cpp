#include "chapters/04-shutdown/scenario.hpp"

#include <csignal>
#include <ctime>
#include <stdexcept>
#include <system_error>

#include "common/threads.hpp"

namespace graceful_shutdown {

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "shutdown",
                 .title = "Graceful shutdown: stop accepting, drain within a deadline, abort the rest, exit 0",
                 .sections = {"9", "22"},
                 .claims = {"C20"},
                 .ops_unit = "job"});
  c.knob("--producers", params.producers, "producers submitting jobs", 1, 64, "producers");
  c.knob("--submit-every-ms", params.submit_every_ms, "each producer submits a job this often", 1, 10'000, "ms");
  c.knob("--workers", params.workers, "jobs processed at once", 1, 1'000, "workers");
  c.knob("--queue-capacity", params.queue_capacity, "accepted jobs waiting for a worker, at most", 1, 100'000, "jobs");
  c.knob("--job-ms", params.job_ms, "how long each job's backend call takes", 0, 60'000, "ms");
  c.knob("--drain-ms", params.drain_ms, "after the first signal, time allowed to finish accepted jobs", 0, 600'000,
         "ms");
  c.knob("--shutdown-after-ms", params.shutdown_after_ms,
         "send this process SIGTERM after this long (0: run until a signal arrives from outside)", 0, 3'600'000, "ms");
  c.knob("--second-signal-after-ms", params.second_signal_after_ms,
         "and a second SIGTERM this long after the first: stop now (0: none)", 0, 3'600'000, "ms");
  c.backend_knob(params.backend);
  c.counter_doc("accepted", "jobs", "jobs taken into the queue");
  c.counter_doc("completed", "jobs", "jobs whose backend call finished");
  c.counter_doc("aborted", "jobs", "accepted jobs ended on purpose at shutdown (in flight or still queued)");
  c.counter_doc("lost", "jobs", "accepted - completed - aborted: must be 0");
  c.counter_doc("signals", "count", "SIGINT/SIGTERM received");
  c.counter_doc("drain_overrun", "0/1", "1 when the drain deadline passed with jobs left, which were then aborted");
  c.counter_doc("signal_to_exit_ms", "ms", "from the first signal to the end of the service");
  c.quick_sweep("second_signal_after_ms", {"0", "20"});
  c.invariant({.id = "nothing-lost",
               .claim = "C20",
               .where = {},
               .lhs = "async.lost",
               .op = "<=",
               .rhs = "0",
               .why = "every accepted job ends as completed or aborted in the coroutine service"});
  c.invariant({.id = "nothing-lost-sync",
               .claim = "C20",
               .where = {},
               .lhs = "sync.lost",
               .op = "<=",
               .rhs = "0",
               .why = "every accepted job ends as completed or aborted in the threaded service"});
  // C20 itself, at the defaults (one signal, a drain budget of a second): the service stops
  // taking work, finishes everything it accepted — none aborted — and is gone within the
  // budget.  `lost` never counts an aborted job: an abort is a decision, a loss is a bug.
  const nlohmann::json one_signal = {{"second_signal_after_ms", 0}, {"drain_ms", 1000}};
  for (const char* v : {"sync", "async"}) {
    const std::string side = v;
    c.claim({.id = "drains-everything-" + side,
             .claim = "C20",
             .where = one_signal,
             .lhs = side + ".aborted",
             .op = "<=",
             .rhs = "0",
             .why = "with one signal and time to drain, every accepted job completes"});
    c.claim({.id = "exits-within-the-drain-budget-" + side,
             .claim = "C20",
             .where = one_signal,
             .lhs = side + ".signal_to_exit_ms",
             .op = "<=",
             .rhs = "1000",
             .why = "from the signal to the end of the service within --drain-ms"});
    c.claim({.id = "a-second-signal-aborts-" + side,
             .claim = "C20",
             .where = {{"second_signal_after_ms", 20}},
             .lhs = side + ".aborted",
             .op = ">",
             .rhs = "0",
             .why = "a second signal means stop now: the jobs still in flight are aborted, and counted as such",
             .context = "what an impatient operator gets; not the graceful path C20 describes"});
  }
  // workbench lab shutdown: what a student guesses before the run.
  const std::string dir = "chapters/04-shutdown/";
  c.prediction({.id = "lost",
                .question = "SIGTERM arrives 300 ms in, with jobs queued and in flight: how many accepted jobs will "
                            "the blocking service lose?",
                .claim = "C20",
                .measure = "sync.lost",
                .unit = "jobs",
                .min = 0,
                .max = 100'000,
                .close = 1.5,
                .explain = {{dir + "sync.cpp", "accepting.request_stop();",
                             "the first signal stops the producers; the workers drain"},
                            {dir + "async.cpp", "accepting.request_stop();", "the same phase, as a cancellation"}}});
  c.prediction(
      {.id = "signal-to-exit",
       .question =
           "With a 1,000 ms drain budget and 50 ms jobs: how many ms from the signal to the coroutine service's exit?",
       .claim = "C20",
       .measure = "async.signal_to_exit_ms",
       .unit = "ms",
       .min = 0.1,
       .max = 100'000,
       .explain = {{dir + "sync.cpp", "const bool signalled = ::sigtimedwait(&signals, &info, &slice) > 0;",
                    "a thread takes the signal"},
                   {dir + "async.cpp", "co_await (signals.async_wait(nothrow) || drain_deadline.async_wait(nothrow));",
                    "a coroutine waits for the signal or the deadline"}}});
  return c;
}

Workload::Workload(const Params& params, const wb::Run& run) : BackendWorkload(params.backend, 2) {
  if (run.variant().blocking()) wb::block_stop_signals();
}

wb::WorkRequest job_request(const Params& params, std::uint64_t id) {
  wb::WorkRequest r;
  r.id = id;
  r.delay_ms = params.job_ms;
  r.bytes = 64;
  return r;
}

SelfSignals::SelfSignals(const Params& params) {
  auto arm = [this](std::int64_t after_ms) {
    sigevent ev{};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGTERM;
    timer_t t{};
    if (::timer_create(CLOCK_MONOTONIC, &ev, &t) != 0)
      throw std::system_error(errno, std::generic_category(), "timer_create");
    itimerspec when{};
    when.it_value.tv_sec = after_ms / 1000;
    when.it_value.tv_nsec = (after_ms % 1000) * 1'000'000;
    ::timer_settime(t, 0, &when, nullptr);
    timers_.push_back(t);
  };
  if (params.shutdown_after_ms > 0) {
    arm(params.shutdown_after_ms);
    if (params.second_signal_after_ms > 0) arm(params.shutdown_after_ms + params.second_signal_after_ms);
  }
}

SelfSignals::~SelfSignals() {
  for (void* t : timers_) ::timer_delete(static_cast<timer_t>(t));
}

wb::Outcome record(const Ledger& ledger, wb::Run& run) {
  const auto accepted = ledger.accepted.load();
  const auto completed = ledger.completed.load();
  const auto aborted = ledger.aborted.load();
  run.counter("accepted", static_cast<double>(accepted));
  run.counter("completed", static_cast<double>(completed));
  run.counter("aborted", static_cast<double>(aborted));
  run.counter("lost", static_cast<double>(accepted - completed - aborted));
  run.counter("signals", static_cast<double>(ledger.signals.load()));
  run.counter("drain_overrun", ledger.drain_overrun ? 1.0 : 0.0);
  if (ledger.signals > 0) {
    run.counter(
        "signal_to_exit_ms",
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ledger.first_signal).count());
  }
  // Which jobs were accepted before the signal is timing; what both variants must agree on is
  // that none was lost — with the plan, so the digest still says which run this was.
  return {static_cast<std::uint64_t>(completed),
          run.plan_digest("lost=" + std::to_string(accepted - completed - aborted))};
}

}  // namespace graceful_shutdown
