// Chapter 10 — what a unit of concurrency costs (§4, §12, §28): what the three variants share.
//
// Every other chapter's figures rest on four raw costs, measured here for three kinds of unit:
//   threads    a std::thread per unit: the kernel schedules it, it owns a stack of its own;
//   stackless  an Asio C++20 coroutine (co_spawn): a heap frame holding only what lives across
//              a co_await, resumed by the io_context on this one thread;
//   stackful   an asio::spawn coroutine on Boost.Context: a stack of its own (mapped, touched
//              as it grows), switched in user space, resumed by the io_context on this thread.
// The scenarios (--scenario):
//   switch   two units hand a turn back and forth --round-trips times (--via notify: a
//            condition variable / a channel; direct: a pipe / co_await post; ring: --ring units
//            pass a byte round pipes, woken by readiness) — ns per one-way switch, and the
//            kernel's context switches per round trip;
//   spawn    create a unit, let it do --work-ns of work, wait for it; --batch at a time — ns
//            per unit against the same work done inline;
//   memory   park --units units (threads on a condition variable, coroutines on a timer or a
//            channel) and fit RSS = a + b·N over the way up; the kernel's side of a thread
//            (its stack, page tables, slab) from /proc/meminfo, which RSS does not show;
//   ceiling  park units until --ceiling-units, the memory budget, or the OS refuses, and say
//            which limit stopped them.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/chapter.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"

namespace scheduling_costs {

struct Params {
  std::string scenario = "switch";  // switch | spawn | memory | ceiling
  std::string via = "notify";       // switch: notify | direct | ring
  std::string pin = "one-core";     // switch: one-core | none
  std::int64_t round_trips = 20'000;
  std::int64_t ring = 16;         // switch via ring: units in the ring
  std::int64_t spawns = 20'000;   // spawn: units created in all
  std::int64_t batch = 1;         // spawn: units created before waiting for them
  std::int64_t work_ns = 0;       // spawn: each unit's work
  std::int64_t units = 10'000;    // memory: units parked at the top
  std::string park_on = "timer";  // memory, ceiling (coroutines): timer | channel
  std::int64_t ceiling_units = 1'000'000;
  std::int64_t memory_budget_mib = 2048;  // ceiling: stop before the process's RSS passes this
  std::int64_t thread_reserve = 256;      // ceiling, threads: leave this many below the OS's limit
};

wb::Chapter make_chapter(Params& params);

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The one-way switches a switch trial makes: two per round trip.
inline std::int64_t switches(const Params& params) { return 2 * params.round_trips; }

// Pins the calling thread (and so every thread it starts afterwards) to one CPU, the first this
// process may use: a switch between two units on one core is a real switch, not a wake-up of a
// thread that spins on another core.  Returns the CPU, or -1 for --pin none.
int pin_if_asked(const Params& params);

using wb::context_switches;  // common/threads.hpp

// Work of about `ns` nanoseconds, the same amount on every call (calibrated once per process):
// returns a value that depends on it, so it is not optimised away.
std::uint64_t work(std::int64_t ns, std::uint64_t seed);

// What every variant records for the switch scenario.
wb::Outcome record_switch(const Params& params, wb::Run& run, double seconds, std::int64_t ctx, std::uint64_t passes);
// ... for spawn: `inline_s` the same work done inline, `spawned_s` through units.
wb::Outcome record_spawn(const Params& params, wb::Run& run, double inline_s, double spawned_s, std::uint64_t sum);

// Parking units for memory and ceiling.  A variant calls grow(add) with a function that parks
// one more unit (returning false, or throwing, when it cannot); Parking decides how many to
// park, stops at a limit, and samples memory on the way up.
class Parking {
 public:
  Parking(const Params& params, const std::string& variant);
  // Parks units one by one with `add`, up to the target or a limit; before each memory sample
  // calls settle(n), which returns when the n units made so far are all parked (a thread has
  // started and waits; a coroutine has run to its first co_await).  Returns how many are parked.
  std::int64_t grow(const std::function<bool()>& add, const std::function<void(std::int64_t)>& settle);
  std::int64_t parked() const { return parked_; }
  // After the variant released every unit and saw `finished` of them end.
  wb::Outcome record(wb::Run& run, std::int64_t finished);

 private:
  struct Point {
    double units, rss_kib, kernel_kib;
  };
  void sample();
  bool room(std::string& why) const;

  const Params& p_;
  std::string variant_;
  std::int64_t target_;
  std::int64_t parked_ = 0;
  std::int64_t next_sample_ = 0;
  std::int64_t os_limit_ = -1;  // threads: the tightest limit the OS states, less the reserve
  std::string os_limit_name_;
  std::string stopped_by_;
  std::vector<Point> points_;
};

// n pipes, each a unit's inbox (fds closed on destruction); non-blocking ones for a reactor.
class Pipes {
 public:
  Pipes(std::int64_t n, bool nonblocking);
  ~Pipes();
  Pipes(const Pipes&) = delete;
  Pipes& operator=(const Pipes&) = delete;
  int read_end(std::int64_t i) const { return fds_[static_cast<std::size_t>(2 * i)]; }
  int write_end(std::int64_t i) const { return fds_[static_cast<std::size_t>(2 * i + 1)]; }
  // Hands the descriptor to an owner that closes it (an Asio stream_descriptor).
  int release(std::size_t slot) { return std::exchange(fds_[slot], -1); }

 private:
  std::vector<int> fds_;
};

// How many of a ring's hops unit i takes: hops i, i + ring, i + 2·ring, ... below `hops`.
inline std::int64_t hops_of(std::int64_t i, std::int64_t ring, std::int64_t hops) {
  return i < hops ? (hops - i + ring - 1) / ring : 0;
}

// Set-up, not measured: the first call of work() calibrates its loop before the clock starts.
class Workload : public wb::Workload {
 public:
  Workload(const Params& /*params*/, const wb::Run& /*run*/) { work(1, 0); }
};

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);      // threads
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);     // stackless, or:
wb::Outcome run_stackful(const Params& params, const Workload& workload, wb::Run& run);  // stackful

}  // namespace scheduling_costs
