#include "chapters/13-shared-state/scenario.hpp"

#include <numeric>
#include <stdexcept>

#include "common/digest.hpp"
#include "common/usage_error.hpp"

namespace shared_state {

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c(
      {.name = "shared-state",
       .title = "Shared state: a mutex, an atomic, a strand, an actor, an async mutex, shards",
       .sections = {"16", "25", "28"},
       .claims = {"C3", "C23", "C28"},
       .ops_unit = "update",
       .variants = {{"mutex", wb::Model::threads, "std::mutex around each update, tasks on --threads threads"},
                    {"atomic", wb::Model::threads, "std::atomic slots: fetch_add / fetch_sub, no lock"},
                    {"sharded", wb::Model::threads, "--shards mutexes, each guarding a share of the slots"},
                    {"strand", wb::Model::coroutines,
                     "coroutines on --threads threads; each update runs on the state's strand"},
                    {"actor", wb::Model::coroutines, "one coroutine owns the state; updates are messages on a channel"},
                    {"async-mutex", wb::Model::coroutines,
                     "a lock for coroutines: one compare-exchange when free; when taken, the "
                     "task suspends in a queue and the unlock resumes it through the executor"},
                    {"channel-lock", wb::Model::coroutines,
                     "a channel of capacity 1 as a lock: send acquires, receive releases"}},
       .baseline = "mutex",
       .headline = "ns_per_op"});
  c.knob("--state", params.state, "counter (each update adds one) or accounts (transfers; the total must not change)",
         {"counter", "accounts"});
  c.knob("--contention", params.contention,
         "shared (every task updates the same state) or private (each task its own slice: never contended)",
         {"shared", "private"});
  c.knob("--tasks", params.tasks, "tasks updating the state", 1, 10'000, "tasks");
  c.knob("--ops", params.ops, "updates per task", 1, 100'000'000, "updates");
  c.knob("--threads", params.threads, "threads running the tasks (mutex, atomic, sharded) or the io_context (the rest)",
         1, 256, "threads");
  c.knob("--accounts", params.accounts, "accounts: how many (private: at least two per task)", 2, 1'000'000,
         "accounts");
  c.knob("--shards", params.shards, "sharded: how many locks share the slots", 1, 4096, "locks");
  c.knob("--watchdog-ms", params.watchdog_ms, "--pitfall: no progress for this long is reported as a deadlock", 10,
         60'000, "ms");
  c.knob("--pitfall", params.pitfall,
         "on: instead of the updates, two tasks hold the state across a 1 ms wait, each variant its way, in a "
         "child process under a watchdog; the mutex and sharded variants hold a std::mutex across a co_await "
         "(1 thread: a deadlock, reported; 2: a stall)",
         {"off", "on"});
  c.counter_doc("ns_per_op", "ns", "wall time over the updates (tasks × ops)");
  c.counter_doc("total_error", "",
                "how far the final total is from what it must be (conserved, or counted): must be 0");
  c.counter_doc("updates_made", "updates", "--pitfall: updates the two tasks made before the end or the deadlock");
  c.counter_doc("deadlocked", "0/1", "--pitfall: 1 when the watchdog saw no update for --watchdog-ms");
  c.counter_doc("lock_waits", "waits",
                "updates that found their lock taken and had to wait (mutex, sharded, async-mutex: try_lock failed; "
                "channel-lock: the channel was full; actor: the mailbox was full); atomic and strand do not count");
  c.quick_point({{"state", "counter"}, {"contention", "shared"}, {"threads", "2"}});
  c.quick_point({{"state", "counter"}, {"contention", "shared"}, {"threads", "1"}});
  c.quick_point({{"state", "counter"}, {"contention", "private"}, {"threads", "2"}});
  c.quick_point({{"state", "accounts"}, {"contention", "shared"}, {"threads", "2"}});
  c.quick_point({{"pitfall", "on"}, {"threads", "1"}});
  for (const char* v : {"mutex", "atomic", "sharded", "strand", "actor", "async-mutex", "channel-lock"}) {
    // Correctness, the same result whatever the mechanism (C3) — not evidence for C23.
    c.invariant({.id = std::string("conserved-") + v,
                 .claim = "C3",
                 .where = {{"pitfall", "off"}},
                 .lhs = std::string(v) + ".total_error",
                 .op = "<=",
                 .rhs = "0",
                 .why = "every update applied exactly once, none torn: the total is what it must be"});
  }
  for (const char* contention : {"shared", "private"}) {
    const nlohmann::json where = {{"state", "counter"}, {"contention", contention}, {"threads", 2}};
    const std::string when = std::string(contention) == "shared" ? "contended" : "uncontended";
    c.claim({.id = "atomic-below-mutex-" + when,
             .claim = "C28",
             .where = where,
             .lhs = "atomic.ns_per_op",
             .op = "<",
             .rhs = "mutex.ns_per_op",
             .why = "an atomic increment costs less than a lock, an increment and an unlock"});
    c.claim({.id = "mutex-below-async-mutex-" + when,
             .claim = "C28",
             .where = where,
             .lhs = "mutex.ns_per_op",
             .op = "<",
             .rhs = "async-mutex.ns_per_op",
             .why = "a std::mutex costs less than an asynchronous lock: free, both take one compare-exchange, "
                    "and the coroutine's own call costs more than a plain call; taken, the waiter is resumed "
                    "through the executor, where a thread blocked on a std::mutex is woken by the kernel"});
    // The usual stand-in, beside it: what a lock built on a channel costs over one built for the job.
    c.claim({.id = "async-mutex-below-channel-lock-" + when,
             .claim = "C28",
             .where = where,
             .lhs = "async-mutex.ns_per_op",
             .op = "<",
             .rhs = "channel-lock.ns_per_op",
             .why = "a channel used as a lock takes the channel's own std::mutex on every send and receive",
             .context = "not what C28 says (a lock against a lock, not a lock against a mutex); shown so the "
                        "cost of the usual stand-in is seen beside a lock built for coroutines"});
  }
  // C23's core: two tasks hold the state across a 1 ms wait, on one io_context thread.  With a
  // std::mutex the second task blocks the only thread in lock() and the first can never resume
  // to unlock: a deadlock, caught by the watchdog.  The asynchronous lock and message passing
  // finish every update.
  const nlohmann::json held = {{"pitfall", "on"}, {"threads", 1}};
  for (const char* other : {"async-mutex", "actor"}) {
    c.claim({.id = std::string("a-mutex-held-across-a-wait-stalls-") + other,
             .claim = "C23",
             .where = held,
             .lhs = "mutex.updates_made",
             .op = "<",
             .rhs = std::string(other) + ".updates_made",
             .why = std::string("a std::mutex held across a co_await deadlocks the one thread; the ") +
                    (std::string(other) == "actor" ? "actor's messages" : "asynchronous lock") +
                    " suspend the task instead, and every update is made"});
  }
  c.claim({.id = "atomics-suit-counters",
           .claim = "C23",
           .where = {{"state", "counter"}, {"contention", "shared"}, {"threads", 2}},
           .lhs = "atomic.ns_per_op",
           .op = "<",
           .rhs = "actor.ns_per_op",
           .why = "for a plain counter an atomic beats sending each update to an owner"});
  // workbench lab shared-state: what a student guesses before the run.
  const std::string dir = "chapters/13-shared-state/";
  c.prediction({.id = "cheapest",
                .question = "Two threads update one shared counter: which way costs the fewest ns per update?",
                .claim = "C28",
                .where = {{"contention", "shared"}, {"state", "counter"}, {"threads", 2}},
                .measure = "lowest ns_per_op",
                .choices = {"mutex", "atomic", "async-mutex", "channel-lock"},
                .explain = {{dir + "sync.cpp", "mutex.lock();  // taken: block until it is free",
                             "mutex: block in the kernel when taken"},
                            {dir + "async.cpp", "co_await mutex.async_lock(use_awaitable);",
                             "async-mutex: suspend until handed over"}}});
  c.prediction(
      {.id = "async-mutex-cost",
       .question = "The same counter: how many times the std::mutex's cost per update is the async mutex's?",
       .claim = "C28",
       .where = {{"contention", "shared"}, {"state", "counter"}, {"threads", 2}},
       .measure = "async-mutex.ns_per_op / mutex.ns_per_op",
       .unit = "x",
       .min = 0.01,
       .max = 10000,
       .explain = {
           {dir + "sync.cpp", "mutex.lock();  // taken: block until it is free", "a futex, and only when taken"},
           {dir + "async.cpp", "co_await mutex.async_lock(use_awaitable);", "a coroutine suspension, queued"}}});
  return c;
}

namespace {

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

}  // namespace

Workload::Workload(const Params& params, const wb::Run& run) : p_(params), seed_(run.seed()) {
  if (params.state == "counter") {
    slots_ = owners() * kSpread;
    start_ = 0;
  } else {
    if (params.contention == "private" && params.accounts < 2 * params.tasks)
      throw wb::UsageError("--accounts " + std::to_string(params.accounts) +
                           ": private contention needs at least two per "
                           "task (--tasks " +
                           std::to_string(params.tasks) + ")");
    slots_ = params.accounts;
    start_ = 1000;
  }
}

Op Workload::op(std::int64_t task, std::int64_t k) const {
  if (p_.state == "counter") return {-1, owner(task) * kSpread, 1};
  const auto h = mix(static_cast<std::uint64_t>(seed_) * 0x9E3779B97F4A7C15ULL ^
                     static_cast<std::uint64_t>(task) << 40 ^ static_cast<std::uint64_t>(k));
  // shared: any two accounts; private: two of the task's own
  const auto base = p_.contention == "shared" ? 0 : task * (p_.accounts / p_.tasks);
  const auto n = p_.contention == "shared" ? p_.accounts : p_.accounts / p_.tasks;
  const auto from = static_cast<std::int64_t>(h % static_cast<std::uint64_t>(n));
  const auto to = (from + 1 + static_cast<std::int64_t>((h >> 20) % static_cast<std::uint64_t>(n - 1))) % n;
  return {base + from, base + to, 1 + static_cast<std::int64_t>((h >> 40) % 10)};
}

wb::Outcome Workload::record(const std::vector<std::int64_t>& balances, double seconds, std::int64_t waits,
                             wb::Run& run) const {
  const auto total = std::accumulate(balances.begin(), balances.end(), std::int64_t{0});
  const auto expected = p_.state == "counter" ? p_.tasks * p_.ops : slots_ * start_;
  const auto updates = p_.tasks * p_.ops;
  run.counter("ns_per_op", seconds * 1e9 / static_cast<double>(updates));
  run.counter("total_error", static_cast<double>(total > expected ? total - expected : expected - total));
  run.counter("lock_waits", static_cast<double>(waits));
  wb::Digest d;
  for (const auto b : balances) d.update_u64(static_cast<std::uint64_t>(b));
  return {static_cast<std::uint64_t>(updates), wb::Digest::hex(d.finish())};
}

}  // namespace shared_state
