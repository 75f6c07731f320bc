#include "chapters/03-timeouts/scenario.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/digest.hpp"
#include "common/work.hpp"

namespace timeouts {

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "timeouts",
                 .title = "Timeouts: does the operation stop, or only the waiting?",
                 .sections = {"11.4", "21"},
                 .claims = {"C3", "C12", "C19"},
                 .ops_unit = "call"});
  c.knob("--calls", params.calls, "calls to the backend in all", 1, 10'000, "calls");
  c.knob("--concurrency", params.concurrency, "calls in flight at once", 1, 1'000, "calls");
  c.knob("--deadline-ms", params.deadline_ms, "each call's deadline", 1, 60'000, "ms");
  c.knob("--slow-rate", params.slow_rate, "share of calls that answer after the deadline (150-300 % of it)", 0.0, 1.0,
         "share");
  c.knob("--stall-rate", params.stall_rate, "share of calls that never answer", 0.0, 1.0, "share");
  c.knob("--sync-timeout", params.sync_timeout,
         "sync only: future = std::async + future::wait_for (the caller stops waiting, the call runs on); "
         "socket = poll() with the time left before every read (the call really ends)",
         {"future", "socket"});
  c.backend_knob(params.backend);
  c.knob("--bytes", params.bytes, "size of each answer", 0, 1 << 20, "bytes");
  c.counter_doc("calls_ok", "calls", "answered before the deadline");
  c.counter_doc("timeouts", "calls", "the caller gave up at the deadline");
  c.counter_doc("calls_failed", "calls", "errors other than a timeout");
  c.counter_doc("overshoot_p50_ms", "ms", "time past the deadline until the caller resumed, median");
  c.counter_doc("overshoot_p99_ms", "ms", "the same, 99th percentile");
  c.counter_doc("still_running", "calls", "operations (threads, sockets) still going after every caller had moved on");
  c.counter_doc("deadline_completions", "operations",
                "operations the deadline ended, reporting it as an error value (async: operation_aborted; sync "
                "socket: a timeout; sync future: none, the operation goes on)");
  c.counter_doc("sockets_left_open", "sockets",
                "sockets open after every caller had moved on, beyond those open before the calls began");
  c.quick_sweep("sync_timeout", {"future", "socket"});
  c.invariant({.id = "same-outcomes",
               .claim = "C3",
               .where = {},
               .lhs = "async.result_digest",
               .op = "==",
               .rhs = "sync.result_digest",
               .why = "--seed decides which calls are slow or stall; both variants see the same outcomes"});
  c.invariant({.id = "asio-cancels",
               .claim = "C19",
               .where = {},
               .lhs = "async.still_running",
               .op = "<=",
               .rhs = "0",
               .why = "an awaitable-operator timeout cancels the socket operation: nothing runs on after it"});
  // C12, as Asio has it: the cancelled operation completes with an error value
  // (operation_aborted) — one for every timeout — and the cleanup is the coroutine unwinding:
  // its socket closes in a destructor, so nothing is left open.
  c.claim({.id = "cancellation-completes-with-an-error",
           .claim = "C12",
           .where = {},
           .lhs = "async.deadline_completions",
           .op = ">=",
           .rhs = "async.timeouts",
           .why = "a timed-out call's read completes, at once, with operation_aborted: a value, not an interruption"});
  c.claim({.id = "cleanup-leaves-no-socket-open",
           .claim = "C12",
           .where = {},
           .lhs = "async.sockets_left_open",
           .op = "<=",
           .rhs = "0",
           .why = "the unwinding coroutine's socket destructor closes it: no socket outlives its call"});
  c.claim({.id = "a-future-leaves-sockets-open",
           .claim = "C12",
           .where = {{"sync_timeout", "future"}},
           .lhs = "sync.sockets_left_open",
           .op = ">",
           .rhs = "0",
           .why = "a future's wait_for ends the wait, not the call: the stalled calls' sockets stay open",
           .context = "the contrast with the blocking model, not Asio's behaviour that C12 is decided on"});
  c.invariant({.id = "a-future-timeout-is-not-a-cancellation",
               .claim = "C19",
               .where = {{"sync_timeout", "future"}, {"stall_rate", 0.05}},
               .lhs = "sync.still_running",
               .op = ">=",
               .rhs = "1",
               .why = "future::wait_for gives the caller a timeout, but the thread and its socket stay blocked"});
  // workbench lab timeouts: what a student guesses before the run.
  const std::string dir = "chapters/03-timeouts/";
  c.prediction({.id = "left-running",
                .question = "40 calls with a 100 ms deadline, one in 20 stalls: when the blocking caller gives up on a "
                            "std::future, how many calls are still running at the end?",
                .claim = "C19",
                .where = {{"sync_timeout", "future"}},
                .measure = "sync.still_running",
                .unit = "calls",
                .min = 0,
                .max = 10000,
                .close = 1.5,
                .explain = {{dir + "sync.cpp", "abandoned.push_back(std::move(future));",
                             "the caller moves on, the call does not"},
                            {dir + "async.cpp", "co_await (async_call(endpoint, request, tally) || timer.async_wait",
                             "the timer cancels the call"}}});
  c.prediction(
      {.id = "sockets-open",
       .question = "Which variant leaves sockets open after its timeouts?",
       .claim = "C12",
       .where = {{"sync_timeout", "future"}},
       .measure = "highest sockets_left_open",
       .choices = {"sync", "async"},
       .explain = {{dir + "sync.cpp", "abandoned.push_back(std::move(future));", "an abandoned call keeps its socket"},
                   {dir + "async.cpp", "co_await (async_call(endpoint, request, tally) || timer.async_wait",
                    "the loser of || is cancelled and closes"}}});
  return c;
}

Workload::Workload(const Params& params, const wb::Run& run) : BackendWorkload(params.backend, 2) {
  wb::SplitMix64 rng(static_cast<std::uint64_t>(run.seed()) ^ 0x7173ULL);
  auto uniform = [&rng] { return static_cast<double>(rng.next() >> 11) / 9007199254740992.0; };
  for (std::int64_t i = 0; i < params.calls; ++i) {
    wb::WorkRequest r;
    r.id = static_cast<std::uint64_t>(i);
    r.seed = static_cast<std::uint64_t>(run.seed());
    r.bytes = params.bytes;
    const double kind = uniform();
    const double share = uniform();
    if (kind < params.stall_rate) {
      r.stall = 1.0;  // this call never gets an answer
    } else if (kind < params.stall_rate + params.slow_rate) {
      r.delay_ms = static_cast<std::int64_t>(static_cast<double>(params.deadline_ms) * (1.5 + 1.5 * share));
    } else {
      // Half the deadline at most: a build or a machine several times slower than this one still
      // answers a fast call in time, so which calls time out is --seed's choice alone.
      r.delay_ms = static_cast<std::int64_t>(static_cast<double>(params.deadline_ms) * (0.1 + 0.4 * share));
    }
    requests_.push_back(r);
  }
}

std::string digest_of(const std::vector<CallResult>& results) {
  wb::Digest d;
  for (const auto& r : results) {
    d.update_u64(static_cast<std::uint64_t>(r.status));
    d.update_u64(r.digest);
  }
  return wb::Digest::hex(d.finish());
}

void record(const Tally& tally, std::int64_t still_running, wb::Run& run) {
  const auto count = [&](CallStatus s) {
    return static_cast<double>(
        std::count_if(tally.results.begin(), tally.results.end(), [s](const CallResult& r) { return r.status == s; }));
  };
  run.counter("calls_ok", count(CallStatus::ok));
  run.counter("timeouts", count(CallStatus::timed_out));
  run.counter("calls_failed", count(CallStatus::failed));
  run.counter("overshoot_p50_ms", tally.overshoot.quantile_ns(0.5) / 1e6);
  run.counter("overshoot_p99_ms", tally.overshoot.quantile_ns(0.99) / 1e6);
  run.counter("still_running", static_cast<double>(still_running));
  run.counter("deadline_completions", static_cast<double>(tally.deadline_completions.load()));
  run.counter("sockets_left_open",
              static_cast<double>(std::max<std::int64_t>(0, wb::open_sockets() - tally.sockets_at_start)));
}

}  // namespace timeouts
