#include "chapters/07-rate-limit/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rate_limit {

using std::chrono::duration;

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "rate-limit",
                 .title = "Rate limiting: five algorithms, and what waiting for a turn costs in each model",
                 .sections = {"20"},
                 .claims = {"C18"},
                 .ops_unit = "call"});
  c.knob("--clients", params.clients, "callers (threads or coroutines), each making --calls calls", 1, 1'000'000,
         "clients");
  c.knob("--calls", params.calls, "calls each client makes, one after the other", 1, 1'000'000, "calls");
  c.knob("--algorithm", params.algorithm,
         "the limiter: token-bucket (bursts up to --burst), leaky-bucket (an even pace, up to --burst waiting), "
         "fixed-window, sliding-log, sliding-window (rate x window per --window-ms)",
         algorithms());
  c.knob("--rate-per-s", params.rate_per_s, "the average rate the limiter holds", 0.1, 1e6, "calls/s");
  c.knob("--burst", params.burst, "token bucket: its capacity; leaky bucket: how many may wait in it", 1, 1'000'000,
         "calls");
  c.knob("--window-ms", params.window_ms, "window algorithms: their window (they allow rate x window per window)", 1,
         3'600'000, "ms");
  c.knob("--when-limited", params.when_limited, "a limited caller: wait (for its turn) or reject (turned away at once)",
         {"wait", "reject"});
  c.knob("--call-ms", params.call_ms, "how long each backend call takes", 0, 60'000, "ms");
  c.knob("--start", params.start,
         "together: the limiter opens once every client is ready at it, so all of them ask at once (a start "
         "line); as-started: each client asks as soon as it runs, so a machine that starts threads slower than "
         "the rate never queues them",
         {"together", "as-started"});
  c.backend_knob(params.backend);
  c.counter_doc("admitted", "calls", "calls the limiter let through");
  c.counter_doc("rejected", "calls", "calls turned away (when-limited=reject, or a full leaky bucket)");
  c.counter_doc("lost", "calls", "clients x calls - admitted - rejected: must be 0");
  c.counter_doc("max_in_window", "calls", "most admissions the limiter granted in any window of --window-ms");
  c.counter_doc("window_bound", "calls",
                "what the algorithm allows in any such window: token bucket rate x W + burst, leaky bucket "
                "rate x W + 1, sliding log rate x W, fixed window and sliding-window counter 2 x rate x W");
  c.counter_doc("window_excess", "calls", "max_in_window - window_bound: must be <= 0");
  c.counter_doc("started_max_in_window", "calls", "most calls that started in any window of --window-ms");
  c.counter_doc("largest_burst", "calls",
                "most calls started beyond the average rate over any stretch: (calls in [a, b]) - rate x (b - a)");
  c.counter_doc("burst_capacity", "calls", "--burst, for comparison");
  c.counter_doc("achieved_rate_per_s", "calls/s", "calls started per second after the first --burst");
  c.counter_doc("configured_rate_per_s", "calls/s", "--rate-per-s, for comparison");
  c.counter_doc("rate_error_pct", "%", "|achieved / configured - 1| x 100");
  c.counter_doc("waiting_peak", "callers", "most callers waiting for their turn at once");
  c.series_doc("waiting", "callers", "callers waiting for their turn (threads asleep, or coroutines on a timer)");
  c.quick_sweep("algorithm", algorithms());
  for (const char* v : {"sync", "async"}) {
    const std::string side = v;
    c.invariant({.id = "within-the-algorithms-bound-" + side,
                 .claim = "C18",
                 .where = {},
                 .lhs = side + ".window_excess",
                 .op = "<=",
                 .rhs = "0",
                 .why = "no window holds more admissions than the algorithm allows — the granted times, "
                        "whatever the machine's timing",
                 .lhs_where = {},
                 .rhs_where = {},
                 .by_construction = "the granted times are the limiter's own answers, so this checks the algorithm "
                                    "(as the unit tests do with a fake clock), not what the machine did"});
    c.invariant({.id = "nothing-lost-" + side,
                 .claim = "C18",
                 .where = {},
                 .lhs = side + ".lost",
                 .op = "<=",
                 .rhs = "0",
                 .why = "every call is admitted or rejected"});
  }
  c.invariant({.id = "waiting-holds-no-thread",
               .claim = "C18",
               .where = {},
               .lhs = "async.peak_threads",
               .op = "<=",
               .rhs = "2",
               .why = "a coroutine waiting for its turn is a timer, not a thread: every caller waits on one thread"});
  c.invariant({.id = "waiting-holds-a-thread-each",
               .claim = "C18",
               .where = {{"algorithm", "token-bucket"}},
               .lhs = "sync.peak_threads",
               .op = ">=",
               .rhs = "sync.waiting_peak",
               .why = "a blocking caller waits asleep on a thread of its own",
               .by_construction = "every sync caller is a thread of its own, waiting or not"});
  for (const char* v : {"sync", "async"}) {
    const std::string side = v;
    c.claim({.id = "token-bucket-allows-its-burst-" + side,
             .claim = "C18",
             .where = {{"algorithm", "token-bucket"}},
             .lhs = side + ".largest_burst",
             .op = ">=",
             .factor = 0.9,
             .rhs = side + ".burst_capacity",
             .why = "a full bucket lets --burst calls through at once"});
    c.claim({.id = "token-bucket-holds-the-rate-" + side,
             .claim = "C18",
             .where = {{"algorithm", "token-bucket"}},
             .lhs = side + ".achieved_rate_per_s",
             .op = "<=",
             .factor = 1.01,
             .rhs = side + ".configured_rate_per_s",
             .why = "after the burst, calls start no faster than the configured rate, within 1 %"});
    c.claim({.id = "token-bucket-keeps-up-with-the-rate-" + side,
             .claim = "C18",
             .where = {{"algorithm", "token-bucket"}},
             .lhs = side + ".achieved_rate_per_s",
             .op = ">=",
             .factor = 0.99,
             .rhs = side + ".configured_rate_per_s",
             .why = "after the burst, calls start no slower than the configured rate, within 1 %: a limiter that "
                    "holds the average admits that much, and the callers keep up"});
  }
  // workbench lab rate-limit: what a student guesses before the run.
  const std::string dir = "chapters/07-rate-limit/";
  c.prediction(
      {.id = "threads-waiting",
       .question = "100 clients wait for a token bucket of 400 calls/s: how many threads will the blocking variant "
                   "have at its peak?",
       .claim = "C18",
       .where = {{"algorithm", "token-bucket"}},
       .measure = "sync.peak_threads",
       .unit = "threads",
       .min = 1,
       .max = 100'000,
       .close = 1.5,
       .explain = {{dir + "sync.cpp", "std::this_thread::sleep_until(*go);", "a thread sleeps per waiting client"},
                   {dir + "async.cpp", "co_await turn.async_wait(asio::use_awaitable);",
                    "a coroutine suspends per waiting client"}}});
  c.prediction({.id = "achieved-rate",
                .question = "Configured at 400 calls/s with a burst of 20: what rate (calls/s) does the coroutine "
                            "variant's token bucket let through?",
                .claim = "C18",
                .where = {{"algorithm", "token-bucket"}},
                .measure = "async.achieved_rate_per_s",
                .unit = "calls/s",
                .min = 1,
                .max = 1'000'000,
                .close = 1.25,
                .explain = {{dir + "sync.cpp", "std::this_thread::sleep_until(*go);", "each call waits for its turn"},
                            {dir + "async.cpp", "co_await turn.async_wait(asio::use_awaitable);",
                             "each call waits for its turn"}}});
  return c;
}

Workload::Workload(const Params& params, const wb::Run& /*run*/) : BackendWorkload(params.backend, 2) {}

Limits limits_of(const Params& params) {
  return Limits{params.rate_per_s, params.burst, std::chrono::milliseconds(params.window_ms)};
}

wb::WorkRequest call_request(const Params& params, std::uint64_t id) {
  wb::WorkRequest r;
  r.id = id;
  r.delay_ms = params.call_ms;
  r.bytes = 16;
  return r;
}

Gate::Gate(const Params& params)
    : may_wait_(params.when_limited == "wait"),
      expected_(params.start == "together" ? params.clients : 1),
      limiter_(make_limiter(params.algorithm, limits_of(params))) {
  granted_.reserve(static_cast<std::size_t>(params.clients * params.calls));
  began_.reserve(granted_.capacity());
}

bool Gate::arrive() {
  const std::lock_guard lock(mu_);
  if (++arrived_ != expected_) return false;
  start_ = Clock::now();
  open_ = true;
  return true;
}

bool Gate::open() const {
  const std::lock_guard lock(mu_);
  return open_;
}

std::optional<Clock::time_point> Gate::ask() {
  const std::lock_guard lock(mu_);
  const auto go = limiter_->admit(std::chrono::duration_cast<Time>(Clock::now() - start_), may_wait_);
  if (!go) {
    ++rejected_;
    return std::nullopt;
  }
  granted_.push_back(*go);
  return start_ + std::chrono::duration_cast<Clock::duration>(*go);
}

void Gate::waiting(int delta, wb::Run& run) {
  const std::lock_guard lock(mu_);
  waiting_ += delta;
  waiting_peak_ = std::max(waiting_peak_, waiting_);
  run.sample("waiting", static_cast<double>(waiting_));
}

void Gate::started(Clock::time_point granted, wb::Run& run, Clock::time_point arrived) {
  const auto now = Clock::now();
  run.latency().record((now - arrived).count());  // the wait for a turn
  const std::lock_guard lock(mu_);
  began_.push_back(std::chrono::duration_cast<Time>(std::max(now, granted) - start_));
}

namespace {

// Most times in any interval [x, x + w): two pointers over sorted times.
std::int64_t max_in_window(const std::vector<Time>& t, Time w) {
  std::int64_t most = 0;
  for (std::size_t i = 0, j = 0; j < t.size(); ++j) {
    while (t[j] - t[i] >= w) ++i;
    most = std::max(most, static_cast<std::int64_t>(j - i + 1));
  }
  return most;
}

// The most events beyond the average rate over any stretch [t_i, t_j]: max over i <= j of
// (j - i + 1) - rate x (t_j - t_i) — what a token bucket calls its burst.
double largest_burst(const std::vector<Time>& t, double rate_per_s) {
  double best = 0, lowest = std::numeric_limits<double>::max();
  for (std::size_t j = 0; j < t.size(); ++j) {
    const double at = rate_per_s * duration<double>(t[j]).count();
    lowest = std::min(lowest, static_cast<double>(j) - at);
    best = std::max(best, static_cast<double>(j + 1) - at - lowest);
  }
  return best;
}

}  // namespace

wb::Outcome Gate::record(const Params& params, wb::Run& run) {
  const std::lock_guard lock(mu_);
  std::sort(granted_.begin(), granted_.end());
  std::sort(began_.begin(), began_.end());
  const auto admitted = static_cast<std::int64_t>(granted_.size());
  const auto lost = params.clients * params.calls - admitted - rejected_;
  const Time window = std::chrono::milliseconds(params.window_ms);
  const double per_window = std::max(1.0, std::floor(params.rate_per_s * duration<double>(window).count() + 1e-9));
  double bound = 2 * per_window;
  if (params.algorithm == "token-bucket")
    bound = params.rate_per_s * duration<double>(window).count() + static_cast<double>(params.burst);
  if (params.algorithm == "leaky-bucket") bound = params.rate_per_s * duration<double>(window).count() + 1;
  if (params.algorithm == "sliding-log") bound = per_window;
  const auto most = max_in_window(granted_, window);
  run.counter("admitted", static_cast<double>(admitted));
  run.counter("rejected", static_cast<double>(rejected_));
  run.counter("lost", static_cast<double>(lost));
  run.counter("max_in_window", static_cast<double>(most));
  run.counter("window_bound", std::floor(bound + 1e-9));
  run.counter("window_excess", static_cast<double>(most) - std::floor(bound + 1e-9));
  run.counter("started_max_in_window", static_cast<double>(max_in_window(began_, window)));
  run.counter("largest_burst", largest_burst(began_, params.rate_per_s));
  run.counter("burst_capacity", static_cast<double>(params.burst));
  run.counter("configured_rate_per_s", params.rate_per_s);
  run.counter("waiting_peak", static_cast<double>(waiting_peak_));
  // The rate after the first `burst` starts: from the next start to the last.
  const auto skip = static_cast<std::size_t>(std::min<std::int64_t>(params.burst, admitted));
  if (began_.size() >= skip + 2) {
    const double span = duration<double>(began_.back() - began_[skip]).count();
    const double achieved = span > 0 ? static_cast<double>(began_.size() - skip - 1) / span : 0.0;
    run.counter("achieved_rate_per_s", achieved);
    run.counter("rate_error_pct", std::abs(achieved / params.rate_per_s - 1) * 100);
  }
  return {static_cast<std::uint64_t>(admitted),
          "calls=" + std::to_string(params.clients * params.calls) + " lost=" + std::to_string(lost)};
}

}  // namespace rate_limit
