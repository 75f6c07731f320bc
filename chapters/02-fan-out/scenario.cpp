#include "chapters/02-fan-out/scenario.hpp"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include <boost/asio/error.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/system/system_error.hpp>

#include "common/digest.hpp"
#include "common/work.hpp"

namespace fan_out {

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "fan-out",
                 .title = "Fan-out/fan-in: a thread per backend call vs a coroutine per call",
                 .sections = {"3.1", "3.2", "11.3", "18"},
                 .claims = {"C3", "C4", "C5", "C6", "C7", "C11", "C16"},
                 .ops_unit = "call"});
  c.knob("--tasks", params.tasks, "backend calls the request fans out into", 1, 100'000, "calls");
  c.knob("--delay-ms", params.delay_ms, "how long the backend takes for each call", 0, 60'000, "ms");
  c.knob("--jitter-ms", params.jitter_ms, "plus up to this much more, drawn per call from --seed", 0, 60'000, "ms");
  c.knob("--bytes", params.bytes, "size of each answer", 0, 1 << 20, "bytes");
  c.knob("--max-in-flight", params.max_in_flight, "calls running at once (0 = all of them)", 0, 100'000, "calls");
  c.knob("--fail-rate", params.fail_rate, "share of calls the backend fails (HTTP 500), drawn from --seed", 0.0, 1.0,
         "share");
  c.knob("--gather-calls", params.gather_calls,
         "the backend answers no call before this many have arrived (0 = off): makes that many calls certain "
         "to be in flight at once, however slowly threads start",
         0, 100'000, "calls");
  c.knob("--join-threads", params.join_threads,
         "sync only: join each call's thread as soon as the call ends, or keep every finished thread until the "
         "fan-in (a finished thread keeps its stack until it is joined)",
         {"as-they-finish", "at-the-end"});
  c.knob("--policy", params.policy, "collect-all: wait for every call; fail-fast: the first failure cancels the rest",
         {"collect-all", "fail-fast"});
  c.backend_knob(params.backend);
  c.knob("--backend-threads", params.backend_threads, "threads of the backend this run starts", 1, 64, "threads");
  c.counter_doc("calls_ok", "calls", "calls answered 200 with the expected body");
  c.counter_doc("calls_failed", "calls", "calls that failed (HTTP 500, connection error)");
  c.counter_doc("calls_cancelled", "calls", "calls stopped, or never started, because a sibling failed (fail-fast)");
  c.counter_doc("peak_in_flight", "calls", "most calls running at once");
  c.counter_doc("fan_in_ms", "ms", "from the fan-out to the combined answer");
  c.counter_doc("peak_unjoined_threads", "threads",
                "sync: most threads started and not yet joined at once (finished or not): each holds its stack");
  c.counter_doc("rss_per_call_kib", "KiB", "(peak RSS - RSS at start) / peak calls in flight");
  c.counter_doc("kernel_thread_kib", "KiB",
                "peak threads x 16 KiB kernel stack: memory the kernel holds per thread, "
                "outside RSS (a floor)");
  c.counter_doc("mem_per_call_kib", "KiB", "(RSS growth + kernel_thread_kib) / peak calls in flight");
  // The quick run's points, each for a lesson: 100 calls; 10,000 certain to be in flight at once
  // (the backend answers none before all have arrived); 100 calls ten at a time; 100 calls of
  // which some fail, collected or failed fast.
  c.quick_point({{"tasks", "100"}});
  c.quick_point({{"tasks", "10000"}, {"gather_calls", "10000"}});
  c.quick_point({{"tasks", "100"}, {"max_in_flight", "10"}});
  c.quick_point({{"tasks", "100"}, {"fail_rate", "0.05"}, {"policy", "collect-all"}});
  c.quick_point({{"tasks", "100"}, {"fail_rate", "0.05"}, {"policy", "fail-fast"}});

  c.invariant({.id = "same-result",
               .claim = "C3",
               .where = {{"fail_rate", 0.0}},
               .lhs = "async.result_digest",
               .op = "==",
               .rhs = "sync.result_digest",
               .why = "both variants fan in the same answers, whichever order the calls finished in"});
  c.invariant({.id = "few-threads-for-10k-calls",
               .claim = "C6",
               .where = {{"tasks", 10000}},
               .lhs = "async.peak_threads",
               .op = "<=",
               .rhs = "4",
               .why = "ten thousand calls in flight need no thread each: one thread waits on all their sockets"});
  c.invariant({.id = "memory-per-call",
               .claim = "C4",
               .where = {{"tasks", 10000}},
               .lhs = "async.mem_per_call_kib",
               .op = "<",
               .factor = 0.5,
               .rhs = "sync.mem_per_call_kib",
               .why = "a call in flight costs a thread (stack pages, kernel stack) in sync, a coroutine frame and a "
                      "socket in async"});
  // C5 by what it costs, at the concurrency it speaks of: 10,000 calls in flight at once, the two
  // models side by side.  "Does not scale" read as: a thread per call costs at least twice what
  // a coroutine per call costs there — per call in memory, in CPU, and in time to fan in (the
  // factor fixed from the claim's words before measuring).  A machine that refuses the threads
  // is the same finding, stated by the OS.
  const nlohmann::json ten_thousand = {{"tasks", 10000}, {"gather_calls", 10000}};
  for (const auto& [id, metric, why] :
       {std::tuple{"memory", "mem_per_call_kib", "a call in flight holds a thread's stack and kernel side"},
        std::tuple{"cpu", "cpu_s", "starting, scheduling and ending 10,000 threads is work a coroutine's frame avoids"},
        std::tuple{"time", "fan_in_ms", "10,000 threads start one after another before the last call can go"}}) {
    c.claim({.id = std::string("ten-thousand-threads-cost-") + id,
             .claim = "C5",
             .where = ten_thousand,
             .lhs = std::string("sync.") + metric,
             .op = ">=",
             .factor = 2,
             .rhs = std::string("async.") + metric,
             .why = why,
             .refused_holds = "sync"});
  }
  // C11: with a failure early, collect-all waits for the slowest call; fail-fast returns when
  // the failure arrives (the backend fails at once) and cancels the rest.  "Immediate" read as
  // at most half of collect-all's time.
  const nlohmann::json failing = {{"tasks", 100}, {"fail_rate", 0.05}};
  for (const char* v : {"sync", "async"}) {
    const std::string side = v;
    c.claim({.id = "fail-fast-returns-at-the-failure-" + side,
             .claim = "C11",
             .where = failing,
             .lhs = side + ".fan_in_ms",
             .op = "<",
             .factor = 0.5,
             .rhs = side + ".fan_in_ms",
             .why = "returning at the first failure does not wait for the slowest sibling",
             .lhs_where = {{"policy", "fail-fast"}},
             .rhs_where = {{"policy", "collect-all"}}});
    c.claim({.id = "fail-fast-drops-the-rest-" + side,
             .claim = "C11",
             .where = failing,
             .lhs = side + ".calls_cancelled",
             .op = ">",
             .rhs = "0",
             .why = "the siblings still in flight at the failure are cancelled, not awaited",
             .lhs_where = {{"policy", "fail-fast"}}});
    // C16: fanning out cuts the total; a bound of 10 in flight makes 100 calls ten rounds.
    c.claim({.id = "fanning-out-cuts-the-total-" + side,
             .claim = "C16",
             .where = {{"tasks", 100}, {"fail_rate", 0.0}},
             .lhs = side + ".fan_in_ms",
             .op = "<",
             .factor = 0.5,
             .rhs = side + ".fan_in_ms",
             .why = "100 calls at once take about one call's time; ten at a time take ten",
             .lhs_where = {{"max_in_flight", 0}},
             .rhs_where = {{"max_in_flight", 10}}});
  }
  // Context for C7, not evidence for it: at 100 calls both models wait for the slowest call.
  c.claim({.id = "latency-ties-when-the-backend-dominates",
           .claim = "C7",
           .where = {{"tasks", 100}, {"max_in_flight", 0}, {"fail_rate", 0.0}},
           .lhs = "async.fan_in_ms",
           .op = "~",
           .factor = 1.25,
           .rhs = "sync.fan_in_ms",
           .why = "at 100 calls both models wait for the slowest call; neither is faster when the backend's "
                  "delay dominates"});
  // workbench lab fan-out: what a student guesses before the run.
  const std::string dir = "chapters/02-fan-out/";
  c.prediction({.id = "memory-per-call",
                .question = "10,000 calls in flight at once: how many KiB of memory does each call cost the blocking "
                            "variant (a thread each)?",
                .claim = "C5",
                .where = {{"tasks", 10000}, {"gather_calls", 10000}},
                .measure = "sync.mem_per_call_kib",
                .unit = "KiB",
                .min = 0.1,
                .max = 1'000'000,
                .explain = {{dir + "sync.cpp", "run_call_threads(", "a thread per call"},
                            {dir + "async.cpp", "asio::experimental::make_parallel_group(std::move(ops))",
                             "a coroutine frame per call, in one group"}}});
  c.prediction({.id = "first-at-10k",
                .question = "10,000 calls in flight at once: which variant has every answer back first?",
                .claim = "C5",
                .where = {{"tasks", 10000}, {"gather_calls", 10000}},
                .measure = "lowest fan_in_ms",
                .choices = {"sync", "async"},
                .explain = {{dir + "sync.cpp", "http::read(socket, buffer, res);  // parks this thread",
                             "each call parks a thread"},
                            {dir + "async.cpp", "group.async_wait(asio::experimental::wait_for_all(), fan_in_point);",
                             "one wait for all of them"}}});
  return c;
}

Workload::Workload(const Params& params, const wb::Run& run)
    : BackendWorkload(params.backend, static_cast<int>(params.backend_threads)) {
  const std::int64_t seed = run.seed();
  // A group the calls can never complete would hold them forever.
  if (params.gather_calls > params.tasks)
    throw wb::UsageError("--gather-calls " + std::to_string(params.gather_calls) + " is more than --tasks " +
                         std::to_string(params.tasks));
  if (params.gather_calls > 0 && params.max_in_flight > 0 && params.gather_calls > params.max_in_flight) {
    throw wb::UsageError("--gather-calls " + std::to_string(params.gather_calls) + " is more than --max-in-flight " +
                         std::to_string(params.max_in_flight) + ": the calls held back could never arrive");
  }
  if (params.gather_calls > 0 && params.tasks % params.gather_calls != 0) {
    throw wb::UsageError("--gather-calls " + std::to_string(params.gather_calls) + " does not divide --tasks " +
                         std::to_string(params.tasks) + ": the last group could never complete");
  }
  requests_.reserve(static_cast<std::size_t>(params.tasks));
  wb::SplitMix64 rng(static_cast<std::uint64_t>(seed) ^ 0xfa0fa0ULL);
  for (std::int64_t i = 0; i < params.tasks; ++i) {
    wb::WorkRequest r;
    r.id = static_cast<std::uint64_t>(i);
    r.seed = static_cast<std::uint64_t>(seed);
    r.delay_ms =
        params.delay_ms +
        (params.jitter_ms > 0 ? static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(params.jitter_ms + 1))
                              : 0);
    r.bytes = params.bytes;
    r.fail = params.fail_rate;
    r.gather = params.gather_calls;
    requests_.push_back(r);
  }
}

CallResult ended_by(std::exception_ptr error, bool cancelled) {
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    if (cancelled || e.code() == boost::asio::error::operation_aborted ||
        e.code() == boost::asio::experimental::error::channel_cancelled) {
      return {CallStatus::cancelled, 0, {}};
    }
    return {CallStatus::failed, 0, e.what()};
  } catch (const std::exception& e) {
    if (cancelled) return {CallStatus::cancelled, 0, {}};
    return {CallStatus::failed, 0, e.what()};
  }
}

std::string fan_in(const std::vector<CallResult>& results, bool fail_fast) {
  const bool stopped =
      std::any_of(results.begin(), results.end(), [](const CallResult& r) { return r.status != CallStatus::ok; });
  if (fail_fast && stopped) return "not-compared:fail-fast-stopped";
  wb::Digest d;
  for (const auto& r : results) {
    d.update_u64(static_cast<std::uint64_t>(r.status));
    d.update_u64(r.status == CallStatus::ok ? r.digest : 0);
  }
  return wb::Digest::hex(d.finish());
}

void record_calls(const std::vector<CallResult>& results, std::int64_t peak_in_flight, double fan_in_ms, wb::Run& run) {
  const auto count = [&](CallStatus s) {
    return static_cast<double>(
        std::count_if(results.begin(), results.end(), [s](const CallResult& r) { return r.status == s; }));
  };
  run.counter("calls_ok", count(CallStatus::ok));
  run.counter("calls_failed", count(CallStatus::failed));
  run.counter("calls_cancelled", count(CallStatus::cancelled));
  run.counter("peak_in_flight", static_cast<double>(peak_in_flight));
  run.counter("fan_in_ms", fan_in_ms);
}

void Workload::finish(wb::Run& run) const {
  auto& rec = run.record();
  if (rec.status != "ok") return;  // a run that failed part-way has no meaningful per-call figure
  const auto& u = rec.metrics.resources;
  const double in_flight =
      std::max(1.0, rec.counters.count("peak_in_flight") ? rec.counters.at("peak_in_flight") : 1.0);
  const double rss_growth = static_cast<double>(std::max<std::int64_t>(0, u.peak_rss_kib - u.start_rss_kib));
  const double kernel = static_cast<double>(u.peak_threads) * wb::kKernelStackKib;
  run.counter("rss_per_call_kib", rss_growth / in_flight);
  run.counter("kernel_thread_kib", kernel);
  run.counter("mem_per_call_kib", (rss_growth + kernel) / in_flight);
}

}  // namespace fan_out
