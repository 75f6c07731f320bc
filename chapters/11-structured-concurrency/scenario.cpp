#include "chapters/11-structured-concurrency/scenario.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/digest.hpp"

namespace structured_concurrency {

namespace {
std::atomic<std::int64_t> g_alive{0};
}

std::int64_t scopes_alive() { return g_alive.load(); }

Scope::Scope(std::int64_t r) : request(r) { ++g_alive; }
Scope::~Scope() { --g_alive; }

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "structured-concurrency",
                 .title = "Structured concurrency: do the helpers end when their handler does?",
                 .sections = {"9"},
                 .claims = {"C10"},
                 .ops_unit = "request",
                 .variants = {{"sync-detached", wb::Model::threads,
                               "a detached std::thread per helper: it runs on after the handler"},
                              {"sync-scoped", wb::Model::threads,
                               "a std::jthread per helper: leaving the scope requests stop and joins"},
                              {"async-detached", wb::Model::coroutines,
                               "co_spawn(..., detached) per helper: it runs on after the handler"},
                              {"async-scoped", wb::Model::coroutines,
                               "awaitable operator ||: the first result cancels the rest, which end "
                               "before the handler returns"}},
                 .baseline = "sync-detached",
                 .headline = "late_calls"});
  c.knob("--requests", params.requests, "requests handled one after another", 1, 100'000, "requests");
  c.knob("--needed-ms", params.needed_ms, "how long the needed helper's one call takes", 0, 60'000, "ms");
  c.knob("--spec-calls", params.spec_calls, "calls each speculative helper makes before it answers", 1, 10'000,
         "calls");
  c.knob("--call-ms", params.call_ms, "how long each speculative call takes", 1, 60'000, "ms");
  c.knob("--deadline-ms", params.deadline_ms, "the handler answers nothing after this long", 1, 600'000, "ms");
  c.counter_doc("calls", "calls", "calls the helpers began, in all");
  c.counter_doc("late_calls", "calls", "calls begun after their handler had returned: work for nobody");
  c.counter_doc("running_at_return", "helpers", "helpers still running when their handler returned, summed");
  c.counter_doc("scope_end_ms_max", "ms", "the longest time from a handler's first result to the end of its scope");
  c.counter_doc("alive_at_exit", "scopes",
                "handler scopes still alive (held by helpers) when the last handler returned");
  c.counter_doc("answered", "requests", "requests answered with a result before the deadline");
  c.quick_sweep("requests", {"20"});
  for (const char* v : {"sync-scoped", "async-scoped"}) {
    for (const char* what : {"running_at_return", "late_calls"}) {
      c.invariant({.id = std::string(v) + "-" + (std::string(what) == "late_calls" ? "no-late-calls" : "none-running"),
                   .claim = "C10",
                   .where = {},
                   .lhs = std::string(v) + "." + what,
                   .op = "<=",
                   .rhs = "0",
                   .why = "a scope ends only when its children have: none runs on, none calls for nobody"});
    }
  }
  for (const char* v : {"sync-detached", "async-detached"}) {
    c.invariant({.id = std::string(v) + "-leaves-helpers-running",
                 .claim = "C10",
                 .where = {},
                 .lhs = std::string(v) + ".running_at_return",
                 .op = ">",
                 .rhs = "0",
                 .why = "a detached helper does not end with its handler"});
    c.claim({.id = std::string(v) + "-calls-for-nobody",
             .claim = "C10",
             .where = {},
             .lhs = std::string(v) + ".late_calls",
             .op = ">",
             .rhs = "0",
             .why = "tasks spawned and forgotten outlive their purpose and keep working"});
  }
  // workbench lab structured-concurrency: what a student guesses before the run.
  const std::string dir = "chapters/11-structured-concurrency/";
  c.prediction({.id = "still-running",
                .question = "20 requests, each fanning out speculative helpers; the request returns when it has its "
                            "answer: how many detached helper threads are still running when the last request returns?",
                .claim = "C10",
                .measure = "sync-detached.running_at_return",
                .unit = "helpers",
                .min = 0,
                .max = 100'000,
                .close = 1.5,
                .explain = {{dir + "sync.cpp", "std::thread([=, &helper] { helper(scope, {}, needed); }).detach();",
                             "detached: nobody waits for it"},
                            {dir + "sync.cpp", "std::vector<std::jthread> children;",
                             "scoped: stopped and joined at the block's end"}}});
  c.prediction(
      {.id = "late-calls",
       .question = "How many backend calls will the detached coroutines make after their request has returned?",
       .claim = "C10",
       .measure = "async-detached.late_calls",
       .unit = "calls",
       .min = 0,
       .max = 100'000,
       .close = 1.5,
       .explain = {
           {dir + "async.cpp",
            "asio::co_spawn(io, helper(scope, needed), [&error, deadline](std::exception_ptr e, std::int64_t) {",
            "detached: a handler, and nobody waits"},
           {dir + "async.cpp", "co_await (helper(scope, true) || helper(scope, false) || helper(scope, false) ||",
            "scoped: || cancels the losers"}}});
  return c;
}

void Tally::call(const Scope& scope) {
  ++calls_;
  if (scope.returned.load()) ++late_calls_;
}

void Tally::handled(Scope& scope, Clock::time_point begin, Clock::time_point end) {
  scope.returned = true;
  running_at_return_ += scope.running.load();
  std::int64_t value;
  Clock::time_point first;
  {
    const std::lock_guard lock(scope.mu);
    value = scope.value;
    first = value >= 0 ? scope.first : end;
  }
  if (value >= 0) {
    ++answered_;
    sum_ += static_cast<std::uint64_t>(value);
  }
  run_.latency().record(std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count());
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(end - first).count();
  auto seen = scope_end_us_max_.load();
  while (us > seen && !scope_end_us_max_.compare_exchange_weak(seen, us)) {
  }
}

wb::Outcome Tally::record(const Params& params) {
  run_.counter("calls", static_cast<double>(calls_.load()));
  run_.counter("late_calls", static_cast<double>(late_calls_.load()));
  run_.counter("running_at_return", static_cast<double>(running_at_return_.load()));
  run_.counter("scope_end_ms_max", static_cast<double>(scope_end_us_max_.load()) / 1000.0);
  run_.counter("alive_at_exit", static_cast<double>(std::max<std::int64_t>(0, alive_at_exit_.load())));
  run_.counter("answered", static_cast<double>(answered_.load()));
  wb::Digest d;
  d.update_u64(static_cast<std::uint64_t>(answered_.load()));
  d.update_u64(sum_.load());
  return {static_cast<std::uint64_t>(params.requests), wb::Digest::hex(d.finish())};
}

}  // namespace structured_concurrency
