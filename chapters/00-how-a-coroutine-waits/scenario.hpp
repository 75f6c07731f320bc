// Chapter 00 — how a coroutine waits (§1.2, §4.1, §8.1): what the three variants share.
//
// The mechanism every other chapter assumes, opened up.  Two units hand a turn back and forth
// --round-trips times, and --parked more units wait on a timer far in the future, then are
// woken and end.  Three ways to be such a unit:
//   threads      (sync.cpp)   a std::thread each; a unit waits by parking its thread on a
//                             condition variable (a futex in the kernel), and is woken by another
//                             thread's notify — the kernel switches threads;
//   hand-rolled  (async.cpp)  a coroutine each, on a run loop written out in full below: a
//                             queue of ready coroutine_handles and a heap of timers, one thread.
//                             A unit waits by co_await on an awaitable whose await_suspend files
//                             its handle; the loop resumes it — a function call, no kernel;
//   asio         (asio.cpp)   the same units as Asio awaitables on an io_context: what the
//                             library does for the hand-rolled loop's two dozen lines.
// Measured: the cost of one switch (one unit suspends, the other resumes), the kernel's context
// switches per round trip (getrusage: a count no clock of ours can bias), a coroutine frame's
// size (the promise's operator new is told it), the memory a parked unit holds (RSS over
// --parked units), and — set-up, not measured — what an indirect function call costs here, the
// yardstick for "resuming is a function call".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/chapter.hpp"
#include "common/threads.hpp"

namespace how_a_coroutine_waits {

struct Params {
  std::int64_t round_trips = 100'000;
  std::int64_t parked = 10'000;
  std::string pin = "one-core";  // one-core | none
  std::string keep = "nothing";  // what a parked unit keeps: nothing | 4-kib-before | 4-kib-across
};

wb::Chapter make_chapter(Params& params);

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// --keep 4-kib-*: a parked unit's 4 KiB scratch buffer, filled from its id by a call the
// compiler cannot see through; returns one byte of it, for the unit to add to Measured::kept.
char touch(char* scratch, std::size_t n, std::int64_t id);
inline constexpr std::size_t kScratch = 4096;

// The process's resident memory now (VmRSS), in bytes.
std::int64_t rss_bytes();

// The counters and the outcome every variant records.  `switch_s`: the ping-pong's seconds;
// `ctx`: the kernel's context switches during it; `rss_before`/`rss_parked`: RSS before the
// parked units and with all of them parked; `woken`: how many of them ended.
struct Measured {
  double switch_s = 0;
  std::int64_t ctx = 0;
  std::uint64_t sum = 0;  // the turns, in order: see take_turn
  std::int64_t turns = 0;
  std::int64_t rss_before = 0, rss_parked = 0;
  std::int64_t woken = 0;
  std::int64_t kept = 0;  // --keep: the bytes the parked units read back
  // Unit `me` (0 or 1) takes turn k: order-sensitive enough that a turn out of order changes sum.
  void take_turn(std::int64_t k, int me) {
    sum = sum * 31 + static_cast<std::uint64_t>(k) * static_cast<std::uint64_t>(me + 1);
    ++turns;
  }
};
wb::Outcome record(const Params& params, wb::Run& run, const Measured& m);

// Set-up, not measured: what an indirect call costs on this machine (the yardstick of claim
// C30), recorded after the measured region as ns_per_call.
class Workload : public wb::Workload {
 public:
  Workload(const Params& params, const wb::Run& run);
  void finish(wb::Run& run) const;

 private:
  double ns_per_call_ = 0;
};

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);   // threads
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);  // hand-rolled, or:
wb::Outcome run_asio(const Params& params, const Workload& workload, wb::Run& run);   // asio

}  // namespace how_a_coroutine_waits
