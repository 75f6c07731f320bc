#include "chapters/08-circuit-breaker/scenario.hpp"

#include <algorithm>

namespace circuit_breaker {

using std::chrono::duration;
using std::chrono::milliseconds;

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "circuit-breaker",
                 .title = "A circuit breaker: fail fast while a dependency is down, probe it, close when it is back",
                 .sections = {"19"},
                 .claims = {"C17"},
                 .ops_unit = "call"});
  c.knob("--clients", params.clients, "callers (threads or coroutines)", 1, 10'000, "clients");
  c.knob("--call-every-ms", params.call_every_ms, "each client calls this often (later, when a call takes longer)", 1,
         60'000, "ms");
  c.knob("--call-ms", params.call_ms, "how long a healthy call takes", 0, 60'000, "ms");
  c.knob("--timeout-ms", params.timeout_ms, "a caller gives up on a call after this long", 1, 600'000, "ms");
  c.knob("--healthy-ms", params.healthy_ms, "the backend is healthy this long,", 0, 600'000, "ms");
  c.knob("--outage-ms", params.outage_ms, "then down this long,", 0, 600'000, "ms");
  c.knob("--recovered-ms", params.recovered_ms, "then healthy again this long", 0, 600'000, "ms");
  c.knob("--outage-kind", params.outage_kind,
         "down means: error (every call fails at once) or stall (no call is answered)", {"error", "stall"});
  c.knob("--breaker", params.breaker, "on: calls go through the breaker; off: straight to the backend", {"on", "off"});
  c.knob("--failure-threshold", params.failure_threshold, "failures among the window's calls that open the breaker", 1,
         10'000, "calls");
  c.knob("--window-calls", params.window_calls, "the breaker's sliding window", 1, 10'000, "calls");
  c.knob("--minimum-calls", params.minimum_calls, "no verdict before this many calls are in the window", 1, 10'000,
         "calls");
  c.knob("--slow-call-ms", params.slow_call_ms, "a success slower than this counts as a failure (0: never)", 0, 600'000,
         "ms");
  c.knob("--open-ms", params.open_ms, "how long the breaker stays open before it lets probes through", 0, 600'000,
         "ms");
  c.knob("--half-open-probes", params.half_open_probes, "calls let through in half-open; all must succeed to close it",
         1, 1'000, "calls");
  c.backend_knob(params.backend);
  c.counter_doc("attempted", "calls", "calls the clients wanted to make");
  c.counter_doc("refused", "calls", "calls the open (or busy half-open) breaker refused at once");
  c.counter_doc("ok", "calls", "calls answered correctly");
  c.counter_doc("failed", "calls", "calls that failed (an error from the backend)");
  c.counter_doc("timed_out", "calls", "calls the caller gave up on at its timeout");
  c.counter_doc("lost", "calls", "attempted - refused - ok - failed - timed_out: must be 0");
  c.counter_doc("missed", "calls",
                "calls a client could not make when due, because it was still waiting for an earlier one");
  c.counter_doc("outage_backend_calls", "calls", "calls that reached the backend while it was down");
  c.counter_doc("outage_calls_bound", "calls",
                "with the breaker: failure-threshold + clients (in flight when it opens) + probes x (outage / "
                "open + 1)");
  c.counter_doc("outage_calls_excess", "calls", "outage_backend_calls - outage_calls_bound: must be <= 0");
  c.counter_doc("outage_latency_p50_ms", "ms", "a caller's wait for an outcome during the outage, refusals included");
  c.counter_doc("outage_latency_p99_ms", "ms", "the same, 99th percentile");
  c.counter_doc("refusal_p50_ns", "ns", "what asking an open breaker costs (a refused call), median");
  c.counter_doc("in_flight_peak", "calls", "most calls waiting for the backend at once (sync: threads tied up)");
  c.counter_doc("times_opened", "count", "transitions to open");
  c.counter_doc("recovery_to_closed_ms", "ms", "from the end of the outage to the breaker closing again");
  c.series_doc("breaker_state", "0 closed, 1 half-open, 2 open", "the breaker's state over time");
  c.series_doc("in_flight", "calls", "calls waiting for the backend");
  c.quick_sweep("outage_kind", {"error", "stall"});
  c.quick_sweep("breaker", {"on", "off"});
  c.invariant({.id = "same-state-sequence",
               .claim = "C17",
               .where = {{"breaker", "on"}},
               .lhs = "async.result_digest",
               .op = "==",
               .rhs = "sync.result_digest",
               .why = "both variants take the breaker through the same states (closed, open, probes that fail, "
                      "probes that succeed, closed): the state machine decides, not the concurrency model"});
  for (const char* v : {"sync", "async"}) {
    const std::string side = v;
    c.invariant({.id = "nothing-lost-" + side,
                 .claim = "C17",
                 .where = {},
                 .lhs = side + ".lost",
                 .op = "<=",
                 .rhs = "0",
                 .why = "every call ends refused, answered, failed or timed out"});
    c.invariant({.id = "open-breaker-spares-the-backend-" + side,
                 .claim = "C17",
                 .where = {{"breaker", "on"}},
                 .lhs = side + ".outage_calls_excess",
                 .op = "<=",
                 .rhs = "0",
                 .why = "while the dependency is down, only the calls that open the breaker, those already in "
                        "flight, and the probes reach it"});
    c.claim({.id = "fails-fast-without-touching-" + side,
             .claim = "C17",
             .where = {{"outage_kind", "error"}},
             .lhs = side + ".outage_backend_calls",
             .op = "<",
             .factor = 0.25,
             .rhs = side + ".outage_backend_calls",
             .why = "with the breaker open, most calls during an outage never reach the dependency",
             .lhs_where = {{"breaker", "on"}},
             .rhs_where = {{"breaker", "off"}}});
    c.claim({.id = "a-refusal-instead-of-a-timeout-" + side,
             .claim = "C17",
             .where = {{"outage_kind", "stall"}},
             .lhs = side + ".outage_latency_p50_ms",
             .op = "<",
             .factor = 0.1,
             .rhs = side + ".outage_latency_p50_ms",
             .why = "a caller refused by an open breaker learns in microseconds what a caller without one "
                    "learns at its timeout",
             .lhs_where = {{"breaker", "on"}},
             .rhs_where = {{"breaker", "off"}}});
  }
  // workbench lab circuit-breaker: what a student guesses before the run.
  const std::string dir = "chapters/08-circuit-breaker/";
  c.prediction({.id = "outage-backend-calls",
                .question = "10 clients, a call every 20 ms each, through a 600 ms outage: with the breaker on, how "
                            "many calls reach the failing backend during the outage?",
                .claim = "C17",
                .where = {{"breaker", "on"}, {"outage_kind", "error"}},
                .measure = "sync.outage_backend_calls",
                .unit = "calls",
                .min = 0,
                .max = 100'000,
                .explain = {{dir + "sync.cpp", "wb::event(c, \"refused\");", "an open breaker refuses before sending"},
                            {dir + "async.cpp", "wb::event(c, \"refused\");", "the same, in the coroutine"}}});
  c.prediction(
      {.id = "stall-latency",
       .question = "The backend stalls instead, and there is no breaker: what is a call's median latency (ms) during "
                   "the outage?",
       .claim = "C17",
       .where = {{"breaker", "off"}, {"outage_kind", "stall"}},
       .measure = "async.outage_latency_p50_ms",
       .unit = "ms",
       .min = 0,
       .max = 100'000,
       .close = 1.5,
       .explain = {
           {dir + "sync.cpp",
            "wb::call_backend_blocking(io, endpoint, calls.request(c, k), asked + milliseconds(params.timeout_ms));",
            "every call waits out its timeout"},
           {dir + "async.cpp",
            "co_await (attempt(endpoint, calls.request(c, k)) || timer.async_wait(asio::use_awaitable));",
            "the timeout timer ends the call"}}});
  return c;
}

Workload::Workload(const Params& params, const wb::Run& /*run*/) : BackendWorkload(params.backend, 2) {
  if (params.failure_threshold > params.window_calls)
    throw wb::UsageError("--failure-threshold " + std::to_string(params.failure_threshold) +
                         " is more than --window-calls " + std::to_string(params.window_calls) +
                         ": the breaker could never open");
  if (params.minimum_calls > params.window_calls)
    throw wb::UsageError("--minimum-calls " + std::to_string(params.minimum_calls) + " is more than --window-calls " +
                         std::to_string(params.window_calls) + ": the window never holds that many");
}

BreakerConfig breaker_config(const Params& params) {
  return BreakerConfig{.failure_threshold = params.failure_threshold,
                       .window_calls = params.window_calls,
                       .minimum_calls = params.minimum_calls,
                       .slow_call = milliseconds(params.slow_call_ms),
                       .open_for = milliseconds(params.open_ms),
                       .probes = params.half_open_probes};
}

Calls::Calls(const Params& params, Clock::time_point start)
    : params_(params),
      start_(start),
      healthy_(milliseconds(params.healthy_ms)),
      outage_(milliseconds(params.outage_ms)),
      total_(milliseconds(params.healthy_ms + params.outage_ms + params.recovered_ms)),
      outage_at_ms_(std::chrono::duration_cast<milliseconds>((start + healthy_).time_since_epoch()).count()) {
  if (params.breaker == "on") breaker_.emplace(breaker_config(params));
}

wb::WorkRequest Calls::request(std::int64_t client, std::int64_t k) const {
  wb::WorkRequest r;
  r.id = static_cast<std::uint64_t>(client) * 1'000'000 + static_cast<std::uint64_t>(k);
  r.delay_ms = params_.call_ms;
  r.bytes = 16;
  r.outage = params_.outage_kind == "error" ? wb::WorkRequest::kOutageError : wb::WorkRequest::kOutageStall;
  r.outage_at_ms = outage_at_ms_;
  r.outage_ms = params_.outage_ms;
  return r;
}

Clock::time_point Calls::due(std::int64_t client, std::int64_t k) const {
  const auto every = milliseconds(params_.call_every_ms);
  return start_ + every * client / params_.clients + every * k;
}

std::int64_t Calls::skip_missed(std::int64_t client, std::int64_t k) {
  const auto now = Clock::now();
  std::int64_t skipped = 0;
  while (due(client, k + 1) <= now && due(client, k + 1) < end()) {
    ++k;
    ++skipped;
  }
  if (skipped > 0) {
    const std::lock_guard lock(mu_);
    missed_ += skipped;
  }
  return k;
}

bool Calls::in_outage(Clock::time_point t) const { return t >= start_ + healthy_ && t < start_ + healthy_ + outage_; }

namespace {
double state_value(State s) { return s == State::closed ? 0 : s == State::half_open ? 1 : 2; }
}  // namespace

std::optional<Permit> Calls::ask(Clock::time_point asked, wb::Run& run) {
  const std::lock_guard lock(mu_);
  ++attempted_;
  if (!breaker_) {
    if (in_outage(asked)) ++outage_backend_calls_;
    return Permit{};
  }
  const auto before = breaker_->transitions().size();
  const auto t0 = Clock::now();
  const auto permit = breaker_->try_acquire(std::chrono::duration_cast<Time>(asked - start_));
  const auto t1 = Clock::now();
  if (breaker_->transitions().size() != before) run.sample("breaker_state", state_value(breaker_->state()));
  if (!permit) {
    ++refused_;
    refusal_cost_.record((t1 - t0).count());
    latency(asked, t1, run);
    return std::nullopt;
  }
  if (in_outage(asked)) ++outage_backend_calls_;
  return permit;
}

void Calls::latency(Clock::time_point asked, Clock::time_point now, wb::Run& run) {
  run.latency().record((now - asked).count());
  if (in_outage(asked)) outage_latency_.record((now - asked).count());
}

void Calls::ended(Clock::time_point asked, Permit permit, Ended how, wb::Run& run) {
  const auto now = Clock::now();
  const std::lock_guard lock(mu_);
  latency(asked, now, run);
  (how == Ended::ok ? ok_ : how == Ended::failed ? failed_ : timed_out_)++;
  if (!breaker_) return;
  const auto before = breaker_->transitions().size();
  const auto at = std::chrono::duration_cast<Time>(now - start_);
  if (how == Ended::ok) {
    breaker_->on_success(at, permit, std::chrono::duration_cast<Time>(now - asked));
  } else {
    breaker_->on_failure(at, permit);
  }
  if (breaker_->transitions().size() != before) run.sample("breaker_state", state_value(breaker_->state()));
}

void Calls::in_flight(int delta, wb::Run& run) {
  const std::lock_guard lock(mu_);
  in_flight_ += delta;
  in_flight_peak_ = std::max(in_flight_peak_, in_flight_);
  run.sample("in_flight", static_cast<double>(in_flight_));
}

wb::Outcome Calls::record(const Params& params, wb::Run& run) {
  const std::lock_guard lock(mu_);
  const auto lost = attempted_ - refused_ - ok_ - failed_ - timed_out_;
  run.counter("attempted", static_cast<double>(attempted_));
  run.counter("refused", static_cast<double>(refused_));
  run.counter("ok", static_cast<double>(ok_));
  run.counter("failed", static_cast<double>(failed_));
  run.counter("timed_out", static_cast<double>(timed_out_));
  run.counter("missed", static_cast<double>(missed_));
  run.counter("lost", static_cast<double>(lost));
  run.counter("outage_backend_calls", static_cast<double>(outage_backend_calls_));
  const auto outage = outage_latency_.summary();
  run.counter("outage_latency_p50_ms", outage.p50_us / 1000.0);
  run.counter("outage_latency_p99_ms", outage.p99_us / 1000.0);
  run.counter("in_flight_peak", static_cast<double>(in_flight_peak_));
  std::string states = "off";
  if (breaker_) {
    const double bound =
        static_cast<double>(params.failure_threshold + params.clients) +
        static_cast<double>(params.half_open_probes) *
            (static_cast<double>(params.outage_ms) / static_cast<double>(std::max<std::int64_t>(params.open_ms, 1)) +
             1);
    run.counter("outage_calls_bound", std::floor(bound));
    run.counter("outage_calls_excess", static_cast<double>(outage_backend_calls_) - std::floor(bound));
    if (refusal_cost_.count() > 0) run.counter("refusal_p50_ns", refusal_cost_.summary().p50_us * 1000.0);
    std::int64_t opened = 0;
    std::optional<Time> closed_after;
    const Time outage_end = std::chrono::duration_cast<Time>(healthy_ + outage_);
    // The state sequence, each run of "half-open > open" cycles written once: both variants
    // must go through the same one (the number of cycles depends on timing).
    std::vector<std::string> seq = {"closed"};
    for (const auto& t : breaker_->transitions()) {
      opened += t.to == State::open;
      if (t.to == State::closed && t.at >= outage_end && !closed_after) closed_after = t.at - outage_end;
      const std::string s = to_string(t.to);
      const auto n = seq.size();
      if (s == "open" && n >= 3 && seq[n - 1] == "half-open" && seq[n - 2] == "open" &&
          seq[n - 3] != "[half-open>open]") {
        seq[n - 1] = "[half-open>open]";
        continue;
      }
      if (s == "open" && n >= 2 && seq[n - 1] == "half-open" && seq[n - 2] == "[half-open>open]") {
        seq.pop_back();
        continue;
      }
      seq.push_back(s);
    }
    states.clear();
    for (const auto& s : seq) states += (states.empty() ? "" : ">") + s;
    run.counter("times_opened", static_cast<double>(opened));
    if (closed_after) run.counter("recovery_to_closed_ms", duration<double, std::milli>(*closed_after).count());
  }
  run.info("states", states);
  // The states the breaker went through and nothing lost, with the plan, so the digest still
  // says which run this was.
  return {static_cast<std::uint64_t>(ok_), run.plan_digest("states=" + states + " lost=" + std::to_string(lost))};
}

}  // namespace circuit_breaker
