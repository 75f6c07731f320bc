// Chapter 13 — shared state (§16, §25, §28): what the seven variants share.
//
// The scenario: --tasks tasks each apply --ops updates to shared state — a counter (each update
// adds one), or --accounts accounts (each update moves an amount from one account to another,
// so the total must never change).  --contention shared: every task updates the same state;
// private: each task its own slice (the same primitive, never contended).  Seven ways to keep
// the updates from tearing the state, each a "way" the variant's runner calls per update:
//   mutex        std::mutex around each update, tasks spread over --threads threads (sync.cpp);
//   atomic       std::atomic slots, fetch_add / fetch_sub, no lock (sync_ways.cpp);
//   sharded      --shards mutexes, each guarding the slots with its index modulo --shards
//                (sync_ways.cpp);
//   async-mutex  coroutines on an io_context run by --threads threads, around each update an
//                AsyncMutex (async_mutex.hpp) that suspends a task instead of blocking (async.cpp);
//   strand       an update first moves onto the state's strand, which runs one handler at a
//                time (async_ways.cpp);
//   actor        one coroutine owns the state and applies updates sent through a channel
//                (async_ways.cpp);
//   channel-lock a channel of capacity 1 as the lock: sending acquires (and suspends the
//                coroutine while it is full), receiving releases (async_ways.cpp).
// --pitfall on changes the scenario: two tasks each hold the state across a 1 ms wait, and each
// variant keeps them apart its way — a std::mutex held across a co_await (mutex, sharded: on a
// one-thread io_context, a deadlock), an async lock held across it (async-mutex, channel-lock:
// the other task suspends), an update sent to a strand or an owner and no lock held while
// waiting (strand, actor), an atomic add (atomic) — in a child process under a watchdog that
// reports a deadlock and ends cleanly (pitfall.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/chapter.hpp"

namespace shared_state {

struct Params {
  std::string state = "counter";      // counter | accounts
  std::string contention = "shared";  // shared | private
  std::int64_t tasks = 8;
  std::int64_t ops = 10'000;  // per task
  std::int64_t threads = 2;   // threads running the tasks (sync) or the io_context (async)
  std::int64_t accounts = 64;
  std::int64_t shards = 16;        // sharded
  std::int64_t watchdog_ms = 500;  // --pitfall: no progress this long is a deadlock
  std::string pitfall = "off";     // on: each variant holds the state across a wait (see above)
};

wb::Chapter make_chapter(Params& params);

// One update: `amount` from slot `from` to slot `to`; from = -1 adds to `to` (a counter's +1).
struct Op {
  std::int64_t from = -1;
  std::int64_t to = 0;
  std::int64_t amount = 1;
};

// The state's layout and the updates, the same for every variant: slots, their starting
// balances, task t's k-th update, and which lock (of `locks`) guards a slot.
class Workload : public wb::Workload {
 public:
  Workload(const Params& params, const wb::Run& run);  // the updates are drawn from run.seed()
  std::int64_t slots() const { return slots_; }
  std::int64_t start_balance() const { return start_; }
  Op op(std::int64_t task, std::int64_t k) const;
  // The lock (or strand, or actor) a task's updates go through: one for all when shared, one per
  // task when private (a task's updates then touch only its own slots).
  std::int64_t owner(std::int64_t task) const { return p_.contention == "shared" ? 0 : task; }
  // A private counter's slot: 8 slots (one 64-byte cache line) apart, so that two threads'
  // counters do not share a line — "uncontended" would otherwise still bounce it between cores.
  static constexpr std::int64_t kSpread = 8;
  std::int64_t owners() const { return p_.contention == "shared" ? 1 : p_.tasks; }
  // Checks the final balances (total conserved, or counted) and records what every variant
  // reports: ns per update, lock waits, the digest of the balances.
  wb::Outcome record(const std::vector<std::int64_t>& balances, double seconds, std::int64_t waits, wb::Run& run) const;

 private:
  const Params& p_;
  std::int64_t seed_;
  std::int64_t slots_;
  std::int64_t start_;
};

// Slot-wise apply, for the variants whose state is plain integers (guarded by their mechanism).
inline void apply_op(std::vector<std::int64_t>& s, const Op& op) {
  if (op.from >= 0) s[static_cast<std::size_t>(op.from)] -= op.amount;
  s[static_cast<std::size_t>(op.to)] += op.amount;
}

using Clock = std::chrono::steady_clock;

// A mutex on a cache line of its own: locks of different threads do not share one.
struct alignas(64) PaddedMutex : std::mutex {};

// How a blocking variant makes an update safe: sync.cpp's `mutex`; sync_ways.cpp's `atomic` and
// `sharded`.  (The coroutine variants' AsyncWay is in async_ways.hpp, with Asio.)
class SyncWay {
 public:
  virtual ~SyncWay() = default;
  // One update of `task`'s, made safe this way; it may block the calling thread.
  virtual void update(std::vector<std::int64_t>& state, std::int64_t task, const Op& op) = 0;
  // After every thread has joined (atomic: copies its slots into `state`).
  virtual void finish(std::vector<std::int64_t>& /*state*/) {}
  std::atomic<std::int64_t> waits{0};  // updates that found the state taken
};
// atomic, sharded (sync_ways.cpp).
std::unique_ptr<SyncWay> other_sync_way(const std::string& variant, const Params& params, const Workload& workload);

// run.variant() picks the way (see above).  With --pitfall on, both hand over to run_pitfall.
wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

// --pitfall on (pitfall.cpp): the two tasks in a watched child.  A deadlock is this scenario's finding, not a
// failed run: the trial is ok, with deadlocked = 1 and the updates made before it.  The digest is
// of the plan every variant ran (its outcome differs by design, as in chapter 12).
wb::Outcome run_pitfall(const Params& params, wb::Run& run);

}  // namespace shared_state
