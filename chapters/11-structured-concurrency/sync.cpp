// Chapter 11 — structured concurrency, the BLOCKING ways (variants `sync-detached`,
// `sync-scoped`).  Twin of async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: a thread per helper.  Detached (std::thread::detach), a helper runs on
// after its handler returned; scoped (std::jthread), leaving the handler's block stops and joins
// every helper: a stop request wakes a helper's wait on the stop token.
#include <stop_token>
#include <thread>
#include <vector>

#include "chapters/11-structured-concurrency/scenario.hpp"
#include "common/trace.hpp"

using std::chrono::milliseconds;

namespace structured_concurrency {

wb::Outcome run_sync(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  const bool scoped = run.variant().is("sync-scoped");
  Tally tally(run);

  // Waits `ms` unless stop is requested (a detached helper's token never is); returns whether
  // the whole wait passed.
  auto call = [&](Scope& scope, std::stop_token stop, std::int64_t ms) {
    tally.call(scope);
    wb::event(scope.request, "wait for the call");
    std::unique_lock lock(scope.mu);
    return !scope.answered.wait_for(lock, stop, milliseconds(ms), [] { return false; }) && !stop.stop_requested();
  };

  // A helper: the needed one makes one call, a speculative one --spec-calls; each answers.
  auto helper = [&](std::shared_ptr<Scope> scope, std::stop_token stop, bool needed) {
    const Running running(*scope);
    for (std::int64_t k = 0; k < (needed ? 1 : params.spec_calls); ++k)
      if (!call(*scope, stop, needed ? params.needed_ms : params.call_ms)) return;  // stopped
    scope->deliver(answer(scope->request));
  };

  for (std::int64_t r = 0; r < params.requests; ++r) {
    const auto begin = Clock::now();
    auto scope = std::make_shared<Scope>(r);
    {
      std::vector<std::jthread> children;  // sync-scoped: stopped and joined at the end of this block
      for (const bool needed : {true, false, false}) {
        ++scope->running;
        if (scoped)
          children.emplace_back([=, &helper](std::stop_token stop) { helper(scope, stop, needed); });
        else
          std::thread([=, &helper] { helper(scope, {}, needed); }).detach();
      }
      wb::event(r, "wait for the first result");
      std::unique_lock lock(scope->mu);
      scope->answered.wait_until(lock, begin + milliseconds(params.deadline_ms), [&] { return scope->value >= 0; });
    }
    tally.handled(*scope, begin, Clock::now());
  }
  tally.last_returned();
  // The detached helpers still hold scopes (and use `tally`): wait for them before the
  // variant's state goes away.  A structured program would not need this line.
  while (scopes_alive() > 0) std::this_thread::sleep_for(milliseconds(1));
  return tally.record(params);
}

}  // namespace structured_concurrency
