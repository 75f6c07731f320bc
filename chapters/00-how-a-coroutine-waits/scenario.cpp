#include "chapters/00-how-a-coroutine-waits/scenario.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common/digest.hpp"
#include "common/resources.hpp"

namespace how_a_coroutine_waits {

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "how-a-coroutine-waits",
                 .title = "How a coroutine waits: a hand-written awaitable and run loop against a thread on a "
                          "condition variable",
                 .sections = {"1.2", "4.1", "8.1"},
                 .claims = {"C3", "C8", "C29", "C30"},
                 .ops_unit = "switch",
                 .variants = {{"threads", wb::Model::threads,
                               "a std::thread per unit, parked on a condition variable (a futex in the kernel)"},
                              {"hand-rolled", wb::Model::coroutines,
                               "a coroutine per unit on a run loop written out in async.cpp: a queue of handles and "
                               "a timer heap"},
                              {"asio", wb::Model::coroutines,
                               "the same units as asio::awaitable on an io_context, a channel for the turn"}}});
  c.knob("--round-trips", params.round_trips, "times the two units hand the turn there and back", 1, 100'000'000,
         "round trips");
  c.knob("--parked", params.parked, "units parked on a timer far in the future, then woken", 1, 10'000'000, "units");
  c.knob("--keep", params.keep,
         "what a parked unit keeps: nothing more, a 4 KiB buffer used before its wait, or one used after it",
         {"nothing", "4-kib-before", "4-kib-across"});
  c.knob("--pin", params.pin, "one-core: every unit on the first CPU (a switch is then a real one); none",
         {"one-core", "none"});
  c.counter_doc("ns_per_switch", "ns",
                "the ping-pong's time over its one-way switches (one unit suspends, the other "
                "resumes)");
  c.counter_doc("ctx_per_round_trip", "switches", "the kernel's context switches (getrusage) per round trip");
  c.counter_doc("frame_bytes", "B",
                "hand-rolled: a parked unit's coroutine frame, as the promise's operator new is "
                "asked for it");
  c.counter_doc("bytes_per_parked", "B", "RSS with every parked unit waiting, less RSS before, over the units");
  c.counter_doc("ns_per_call", "ns",
                "an indirect function call on this machine (set-up, not measured): the "
                "yardstick for a resume");
  c.counter_doc("unwoken", "units", "parked units that never ended");

  c.invariant({.id = "same-turns",
               .claim = "C3",
               .lhs = "hand-rolled.result_digest",
               .op = "==",
               .rhs = "threads.result_digest",
               .why = "the units take the same turns in the same order, whoever schedules them"});
  c.invariant({.id = "same-turns-asio",
               .claim = "C3",
               .lhs = "asio.result_digest",
               .op = "==",
               .rhs = "threads.result_digest",
               .why = "the units take the same turns in the same order, whoever schedules them"});
  for (const char* v : {"threads", "hand-rolled", "asio"}) {
    c.invariant({.id = std::string("every-parked-unit-ends-") + v,
                 .claim = "C3",
                 .lhs = std::string(v) + ".unwoken",
                 .op = "<=",
                 .rhs = "0",
                 .why = "every parked unit is woken and ends, a thread or a frame"});
  }
  // The kernel's own count, not our clock: a thread's wait goes through it, a resume does not.
  c.invariant({.id = "a-thread-switch-is-the-kernels",
               .claim = "C30",
               .lhs = "threads.ctx_per_round_trip",
               .op = ">=",
               .rhs = "1",
               .why = "a parked thread runs again only when the kernel switches to it"});
  for (const char* v : {"hand-rolled", "asio"}) {
    c.invariant({.id = std::string("a-resume-is-not-the-kernels-") + v,
                 .claim = "C30",
                 .lhs = std::string(v) + ".ctx_per_round_trip",
                 .op = "<",
                 .rhs = "0.01",
                 .why = "a resume is a call on the same thread: the kernel switches nothing (fewer than one in a "
                        "hundred round trips is preempted)"});
  }
  // C29, "a few hundred bytes": under a thousand, fixed from the words.
  c.claim({.id = "a-frame-is-a-few-hundred-bytes",
           .claim = "C29",
           .lhs = "hand-rolled.frame_bytes",
           .op = "<",
           .rhs = "1000",
           .why = "a suspended coroutine keeps only what lives across its co_await, in a heap frame"});
  for (const char* v : {"hand-rolled", "asio"}) {
    c.claim({.id = std::string("a-parked-coroutine-holds-a-few-hundred-bytes-") + v,
             .claim = "C29",
             .lhs = std::string(v) + ".bytes_per_parked",
             .op = "<",
             .rhs = "1000",
             .why = "what a parked coroutine costs in RSS: its frame (and, for Asio, its timer), no stack"});
  }
  // C30, "a function call": within ten of one, fixed from the words (the same order of magnitude).
  c.claim({.id = "a-resume-is-a-function-call",
           .claim = "C30",
           .lhs = "hand-rolled.ns_per_switch",
           .op = "<=",
           .factor = 10,
           .rhs = "hand-rolled.ns_per_call",
           .why = "suspend, pop a handle, resume: a few calls and a queue, no kernel"});
  c.claim({.id = "an-asio-resume-is-a-function-call",
           .claim = "C30",
           .lhs = "asio.ns_per_switch",
           .op = "<=",
           .factor = 10,
           .rhs = "asio.ns_per_call",
           .why = "Asio's channel and scheduler add their bookkeeping to the call",
           .context = "a library's channel and scheduler, not the mechanism: shown beside the claim, never counted"});
  for (const char* v : {"hand-rolled", "asio"}) {
    c.claim({.id = std::string("user-space-switch-5x-cheaper-") + v,
             .claim = "C8",
             .where = {{"pin", "one-core"}},
             .lhs = "threads.ns_per_switch",
             .op = ">=",
             .factor = 5,
             .rhs = std::string(v) + ".ns_per_switch",
             .why = "a thread's switch is a futex wait, a wake-up and the scheduler; a coroutine's is a call"});
  }

  // workbench lab how-a-coroutine-waits: what a student guesses before the run.
  const std::string dir = "chapters/00-how-a-coroutine-waits/";
  c.prediction({.id = "frame-bytes",
                .question = "How many bytes is the frame of a coroutine parked on a timer (the sleeper in "
                            "async.cpp)?",
                .claim = "C29",
                .measure = "hand-rolled.frame_bytes",
                .unit = "bytes",
                .min = 1,
                .max = 10'000'000,
                .explain = {{dir + "run_loop.hpp", "static void* operator new(std::size_t bytes) {",
                             "the compiler asks the promise for the frame"},
                            {dir + "sync.cpp", "timers.wait_until(lock, far, [&] { return wake; });",
                             "a parked thread keeps a whole stack"}}});
  c.prediction({.id = "switch-ratio",
                .question = "Two units hand a turn back and forth on one core: how many times dearer is a switch "
                            "between threads than between hand-rolled coroutines?",
                .claim = "C8",
                .measure = "threads.ns_per_switch / hand-rolled.ns_per_switch",
                .unit = "x",
                .min = 0.01,
                .max = 100'000,
                .explain = {{dir + "sync.cpp", "turn_changed.wait(lock, [&] { return whose == me; });",
                             "the thread parks in the kernel"},
                            {dir + "run_loop.hpp", "h.resume();  // a function call", "the loop resumes a handle"}}});
  c.prediction(
      {.id = "resume-vs-call",
       .question = "How many times an indirect function call does one hand-rolled switch (suspend, pop a "
                   "handle, resume) cost?",
       .claim = "C30",
       .measure = "hand-rolled.ns_per_switch / hand-rolled.ns_per_call",
       .unit = "x",
       .min = 0.01,
       .max = 100'000,
       .explain = {{dir + "async.cpp", "turn.waiting[me] = h;", "await_suspend files the handle"},
                   {dir + "run_loop.hpp", "h.resume();  // a function call", "the loop calls into the frame"}}});
  return c;
}

std::int64_t rss_bytes() { return wb::read_proc_status().vm_rss_kib * 1024; }

__attribute__((noinline)) char touch(char* scratch, std::size_t n, std::int64_t id) {
  for (std::size_t i = 0; i < n; ++i) scratch[i] = static_cast<char>((static_cast<std::size_t>(id) + i) & 0x7f);
  return scratch[static_cast<std::size_t>(id) % n];
}

wb::Outcome record(const Params& params, wb::Run& run, const Measured& m) {
  const double switches = 2.0 * static_cast<double>(params.round_trips);
  if (m.turns != 2 * params.round_trips)
    throw std::runtime_error("the units took " + std::to_string(m.turns) + " turns of " +
                             std::to_string(2 * params.round_trips) + ": a unit waits for a turn nobody will give it");
  run.counter("ns_per_switch", m.switch_s * 1e9 / switches);
  run.counter("ctx_per_round_trip", static_cast<double>(m.ctx) / static_cast<double>(params.round_trips));
  run.counter("bytes_per_parked", static_cast<double>(std::max<std::int64_t>(0, m.rss_parked - m.rss_before)) /
                                      static_cast<double>(params.parked));
  run.counter("unwoken", static_cast<double>(params.parked - m.woken));
  run.info("pinned", params.pin);
  wb::Digest d;
  d.update_u64(m.sum);
  d.update_u64(static_cast<std::uint64_t>(params.round_trips));
  d.update_u64(static_cast<std::uint64_t>(m.woken));
  d.update_u64(static_cast<std::uint64_t>(m.kept));
  return {static_cast<std::uint64_t>(switches), wb::Digest::hex(d.finish())};
}

namespace {

__attribute__((noinline)) void bump(std::uint64_t& x) { x += 1; }

}  // namespace

// The best of five rounds of a million calls through a pointer the compiler cannot see through.
Workload::Workload(const Params& /*params*/, const wb::Run& /*run*/) {
  void (*volatile call)(std::uint64_t&) = bump;
  std::uint64_t x = 0;
  double best = 1e9;
  for (int round = 0; round < 5; ++round) {
    const auto t0 = Clock::now();
    for (int i = 0; i < 1'000'000; ++i) call(x);
    best = std::min(best, seconds_since(t0) * 1e9 / 1e6);
  }
  if (x != 5'000'000) throw std::logic_error("the calls were not made");
  ns_per_call_ = best;
}

void Workload::finish(wb::Run& run) const { run.counter("ns_per_call", ns_per_call_); }

}  // namespace how_a_coroutine_waits
