#include "chapters/10-scheduling-costs/scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "common/digest.hpp"
#include "common/os_limits.hpp"
#include "common/resources.hpp"

namespace scheduling_costs {

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "scheduling-costs",
                 .title = "What a unit of concurrency costs: a switch, a spawn, its memory, how many fit",
                 .sections = {"4", "12", "28"},
                 .claims = {"C4", "C5", "C8", "C27"},
                 .ops_unit = "unit",
                 .variants = {{"threads", wb::Model::threads,
                               "a std::thread per unit, scheduled by the kernel, a stack of its own"},
                              {"stackless", wb::Model::coroutines,
                               "an Asio C++20 coroutine per unit (co_spawn): a heap frame, one thread"},
                              {"stackful", wb::Model::coroutines,
                               "an asio::spawn coroutine per unit (Boost.Context): its own stack, one thread"}},
                 .baseline = "threads"});
  c.knob("--scenario", params.scenario,
         "switch (hand a turn back and forth), spawn (create, run, wait), memory (park N, fit RSS), ceiling (park "
         "until a limit)",
         {"switch", "spawn", "memory", "ceiling"});
  c.knob("--via", params.via,
         "switch: notify (condition variable / channel), direct (pipe / co_await post), ring (--ring units woken by "
         "readiness on pipes)",
         {"notify", "direct", "ring"});
  c.knob("--pin", params.pin, "switch: one-core (every unit on the first CPU, as context-switch benchmarks do) or none",
         {"one-core", "none"});
  c.knob("--round-trips", params.round_trips, "switch: round trips (two one-way switches each)", 1, 100'000'000,
         "trips");
  c.knob("--ring", params.ring, "switch via ring: units in the ring", 2, 1'000, "units");
  c.knob("--spawns", params.spawns, "spawn: units created in all", 1, 100'000'000, "units");
  c.knob("--batch", params.batch, "spawn: units created before waiting for them (1: one at a time)", 1, 10'000,
         "units");
  c.knob("--work-ns", params.work_ns, "spawn: each unit's work (the same work is also timed inline)", 0, 100'000'000,
         "ns");
  c.knob("--units", params.units, "memory: units parked at the top of the climb", 16, 30'000'000, "units");
  c.knob("--park-on", params.park_on,
         "memory, ceiling: what a coroutine waits on (threads always wait on a condition "
         "variable)",
         {"timer", "channel"});
  c.knob("--ceiling-units", params.ceiling_units, "ceiling: stop climbing here if no limit stops it first", 16,
         100'000'000, "units");
  c.knob("--memory-budget-mib", params.memory_budget_mib, "ceiling: stop before the process's RSS passes this", 64,
         1'048'576, "MiB");
  c.knob("--thread-reserve", params.thread_reserve,
         "ceiling, threads: stop this many short of the tightest limit the OS states, so the rest of the machine "
         "can still start processes (0: climb until the OS refuses)",
         0, 1'000'000, "threads");

  c.counter_doc("ns_per_switch", "ns", "switch: wall time over one-way switches (two per round trip; a ring: hops)");
  c.counter_doc("ctx_per_round_trip", "switches", "switch: the kernel's context switches (getrusage) per round trip");
  c.counter_doc("switches", "switches", "switch: one-way switches made");
  c.counter_doc("ns_per_unit", "ns", "spawn: wall time per unit created, run and waited for");
  c.counter_doc("inline_ns_per_unit", "ns", "spawn: the same work done inline, per unit");
  c.counter_doc("spawn_overhead_ns", "ns", "spawn: ns_per_unit - inline_ns_per_unit, what the unit itself costs");
  c.counter_doc("work_ns", "ns", "spawn: --work-ns, for comparison");
  c.counter_doc("units_parked", "units", "memory, ceiling: units parked at once at the top");
  c.counter_doc("units_unfinished", "units",
                "memory, ceiling: parked units that did not finish after release: must be 0");
  c.counter_doc("user_bytes_per_unit", "B",
                "memory, ceiling: slope b of the least-squares fit RSS = a + b·N over the climb");
  c.counter_doc("kernel_bytes_per_unit", "B",
                "memory, ceiling: the same fit of /proc/meminfo KernelStack + PageTables + Slab (machine-wide)");
  c.counter_doc("bytes_per_unit", "B", "user_bytes_per_unit + kernel_bytes_per_unit");
  c.counter_doc("fit_r2", "", "memory, ceiling: how well a straight line fits RSS over the climb (1 = exactly)");
  c.counter_doc("rss_at_top_mib", "MiB", "memory, ceiling: the process's RSS with every unit parked");

  c.quick_point({{"scenario", "switch"}, {"via", "notify"}});
  c.quick_point({{"scenario", "switch"}, {"via", "direct"}});
  c.quick_point({{"scenario", "switch"}, {"via", "ring"}});
  c.quick_point({{"scenario", "spawn"}, {"work_ns", "100"}, {"batch", "1"}});
  c.quick_point({{"scenario", "spawn"}, {"work_ns", "100"}, {"batch", "1000"}});
  c.quick_point({{"scenario", "memory"}});
  c.quick_point({{"scenario", "ceiling"}});

  // Invariants: true on any machine.
  c.invariant({.id = "thread-memory-over-5x-stackless",
               .claim = "C4",
               .where = {{"scenario", "memory"}},
               .lhs = "threads.bytes_per_unit",
               .op = ">",
               .factor = 5,
               .rhs = "stackless.bytes_per_unit",
               .why = "a thread has a stack of pages and kernel structures; a stackless coroutine only its frame"});
  c.invariant({.id = "a-thread-per-parked-unit",
               .claim = "C4",
               .where = {{"scenario", "memory"}},
               .lhs = "threads.peak_threads",
               .op = ">",
               .rhs = "threads.units_parked",
               .why = "every parked thread is a thread: the units and the main one",
               .by_construction = "the threads variant parks each unit on a thread of its own"});
  for (const char* v : {"stackless", "stackful"}) {
    const std::string side = v;
    c.invariant({.id = side + "-on-one-thread",
                 .claim = "C6",
                 .where = {},
                 .lhs = side + ".peak_threads",
                 .op = "<=",
                 .rhs = "1",
                 .why = "coroutines, however many, run on the one thread that runs the io_context"});
  }
  for (const char* s : {"memory", "ceiling"}) {
    for (const char* v : {"threads", "stackless", "stackful"}) {
      c.invariant({.id = std::string("all-finish-") + s + "-" + v,
                   .claim = "C4",
                   .where = {{"scenario", s}},
                   .lhs = std::string(v) + ".units_unfinished",
                   .op = "<=",
                   .rhs = "0",
                   .why = "every unit parked is woken and runs to its end"});
    }
  }

  // Claims: what the source analysis asserts, with a verdict on this machine.
  c.claim({.id = "thread-memory-10x",
           .claim = "C4",
           .where = {{"scenario", "memory"}},
           .lhs = "threads.bytes_per_unit",
           .op = ">=",
           .factor = 10,
           .rhs = "stackless.bytes_per_unit",
           .why = "threads are expensive in memory: published figures put a thread at ~20 KiB and a task at ~0.4 KiB"});
  // Not at --via ring: there each hand-off is also a read and a write system call and a
  // readiness wait for every kind of unit, and the README shows how much of the gap it closes.
  for (const char* via : {"notify", "direct"}) {
    for (const char* v : {"stackless", "stackful"}) {
      c.claim({.id = std::string("switch-5x-cheaper-") + v + "-" + via,
               .claim = "C8",
               .where = {{"scenario", "switch"}, {"via", via}, {"pin", "one-core"}},
               .lhs = "threads.ns_per_switch",
               .op = ">=",
               .factor = 5,
               .rhs = std::string(v) + ".ns_per_switch",
               .why = "a switch between coroutines stays in user space; one between threads goes through the "
                      "kernel"});
    }
  }
  for (const char* v : {"threads", "stackless", "stackful"}) {
    c.claim({.id = std::string("tiny-work-inline-") + v,
             .claim = "C27",
             .where = {{"scenario", "spawn"}, {"work_ns", 100}, {"batch", 1}},
             .lhs = std::string(v) + ".ns_per_unit",
             .op = ">=",
             .factor = 2,
             .rhs = std::string(v) + ".inline_ns_per_unit",
             .why = "for 100 ns of work, a unit of its own at least doubles the cost: do it inline"});
  }
  c.claim({.id = "the-thread-ceiling",
           .claim = "C5",
           .where = {{"scenario", "ceiling"}},
           .lhs = "threads.units_parked",
           .op = "<",
           .rhs = "10000",
           .why = "how many idle threads this machine lets a process park",
           .context = "the ceiling is a setting of the machine (pid_max, threads-max, ulimit -u), not the cost "
                      "C5 speaks of: fan-out decides C5 on what 10,000 calls in flight cost"});
  c.claim({.id = "a-million-coroutines",
           .claim = "C4",
           .where = {{"scenario", "ceiling"}},
           .lhs = "stackless.units_parked",
           .op = ">=",
           .rhs = "1000000",
           .why = "a million parked coroutines fit in a few GiB where threads stop in the tens of thousands"});
  // workbench lab scheduling-costs: what a student guesses before the run.
  const std::string dir = "chapters/10-scheduling-costs/";
  c.prediction({.id = "switch-ratio",
                .question = "Two units hand a turn back and forth on one core: how many times dearer is one switch "
                            "between threads (mutex + condition variable) than between stackless coroutines?",
                .claim = "C8",
                .where = {{"scenario", "switch"}, {"via", "notify"}},
                .measure = "threads.ns_per_switch / stackless.ns_per_switch",
                .unit = "x",
                .min = 0.01,
                .max = 100'000,
                .explain = {{dir + "sync.cpp", "changed.wait(lock, [&] { return turn == me; });",
                             "a thread parks in the kernel"},
                            {dir + "async.cpp", "co_await inbox[me].async_receive(use_awaitable);",
                             "a coroutine suspends in user space"}}});
  c.prediction(
      {.id = "bytes-per-thread",
       .question =
           "Park 10,000 units and measure the memory: how many bytes does one parked thread cost (user + kernel)?",
       .claim = "C4",
       .where = {{"scenario", "memory"}},
       .measure = "threads.bytes_per_unit",
       .unit = "bytes",
       .min = 1,
       .max = 1'000'000'000,
       .explain = {{dir + "sync.cpp", "changed.wait(lock, [&] { return turn == me; });",
                    "a parked thread keeps its stack and kernel task"},
                   {dir + "async.cpp", "co_await inbox[me].async_receive(use_awaitable);",
                    "a parked coroutine is its frame"}}});
  return c;
}

int pin_if_asked(const Params& params) { return params.pin == "one-core" ? wb::pin_to_first_cpu() : -1; }

namespace {

std::uint64_t lcg_steps(std::uint64_t x, std::int64_t steps) {
  for (std::int64_t i = 0; i < steps; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

// LCG steps per nanosecond on this machine, measured once (the first call, before any unit).
double steps_per_ns() {
  static const double rate = [] {
    volatile std::uint64_t sink = 0;
    double best = 0;
    for (int round = 0; round < 5; ++round) {
      const auto t0 = Clock::now();
      sink = sink + lcg_steps(round, 2'000'000);
      const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
      best = std::max(best, 2'000'000 / ns);
    }
    return best;
  }();
  return rate;
}

struct Fit {
  double a = 0, b = 0, r2 = 0;
};

Fit least_squares(const std::vector<double>& x, const std::vector<double>& y) {
  const auto n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
    syy += y[i] * y[i];
  }
  Fit f;
  const double vx = n * sxx - sx * sx;
  if (x.size() < 2 || vx <= 0) return f;
  f.b = (n * sxy - sx * sy) / vx;
  f.a = (sy - f.b * sx) / n;
  const double vy = n * syy - sy * sy;
  f.r2 = vy > 0 ? (n * sxy - sx * sy) * (n * sxy - sx * sy) / (vx * vy) : 1;
  return f;
}

std::string digest_of(const std::string& text) {
  wb::Digest d;
  d.update(text.data(), text.size());
  return wb::Digest::hex(d.finish());
}

}  // namespace

std::uint64_t work(std::int64_t ns, std::uint64_t seed) {
  if (ns <= 0) return seed;
  return lcg_steps(seed, static_cast<std::int64_t>(static_cast<double>(ns) * steps_per_ns()));
}

Pipes::Pipes(std::int64_t n, bool nonblocking) {
  for (std::int64_t i = 0; i < n; ++i) {
    int fd[2];
    if (::pipe2(fd, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    fds_.push_back(fd[0]);
    fds_.push_back(fd[1]);
  }
}

Pipes::~Pipes() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

wb::Outcome record_switch(const Params& params, wb::Run& run, double seconds, std::int64_t ctx, std::uint64_t passes) {
  const auto n = switches(params);
  run.counter("switches", static_cast<double>(passes));
  run.counter("ns_per_switch", seconds * 1e9 / static_cast<double>(n));
  run.counter("ctx_per_round_trip", static_cast<double>(ctx) / static_cast<double>(params.round_trips));
  run.info("pinned", params.pin);
  if (passes != static_cast<std::uint64_t>(n))
    throw std::runtime_error("the units made " + std::to_string(passes) + " switches of " + std::to_string(n));
  return {static_cast<std::uint64_t>(n), digest_of("switch " + params.via + " " + std::to_string(passes))};
}

wb::Outcome record_spawn(const Params& params, wb::Run& run, double inline_s, double spawned_s, std::uint64_t sum) {
  const auto n = static_cast<double>(params.spawns);
  run.counter("ns_per_unit", spawned_s * 1e9 / n);
  run.counter("inline_ns_per_unit", inline_s * 1e9 / n);
  run.counter("spawn_overhead_ns", (spawned_s - inline_s) * 1e9 / n);
  run.counter("work_ns", static_cast<double>(params.work_ns));
  const auto expected = static_cast<std::uint64_t>(params.spawns) * static_cast<std::uint64_t>(params.spawns - 1) / 2;
  if (sum != expected)
    throw std::runtime_error("the units' ids add up to " + std::to_string(sum) + ", not " + std::to_string(expected));
  return {static_cast<std::uint64_t>(params.spawns), digest_of("spawn " + std::to_string(sum))};
}

Parking::Parking(const Params& params, const std::string& variant)
    : p_(params), variant_(variant), target_(params.scenario == "ceiling" ? params.ceiling_units : params.units) {
  if (params.scenario == "ceiling" && variant == "threads") {
    // The tightest limit the OS states; the climb stops the reserve short of it (or, with a
    // reserve of 0, where the OS refuses — which is what the limit is for).
    const auto limits = wb::thread_limits();
    const auto tightest = std::min_element(limits.begin(), limits.end(),
                                           [](const wb::OsLimit& a, const wb::OsLimit& b) { return a.room < b.room; });
    if (tightest != limits.end()) {
      os_limit_ = std::max<std::int64_t>(0, tightest->room - params.thread_reserve);
      os_limit_name_ = tightest->name + " = " + std::to_string(tightest->value);
    }
  }
  sample();
}

void Parking::sample() {
  const auto rss = wb::read_proc_status().vm_rss_kib;
  const auto kernel = wb::meminfo_kib("KernelStack") + wb::meminfo_kib("PageTables") + wb::meminfo_kib("Slab");
  points_.push_back({static_cast<double>(parked_), static_cast<double>(rss), static_cast<double>(kernel)});
  next_sample_ = parked_ + std::max<std::int64_t>(1, target_ / 16);
}

bool Parking::room(std::string& why) const {
  if (parked_ >= target_) {
    why = p_.scenario == "ceiling" ? "--ceiling-units" : "--units";
    return false;
  }
  if (os_limit_ >= 0 && parked_ >= os_limit_) {
    why = os_limit_name_ + ", less --thread-reserve " + std::to_string(p_.thread_reserve);
    return false;
  }
  if (p_.scenario == "ceiling" && parked_ % 1024 == 0 &&
      wb::read_proc_status().vm_rss_kib > p_.memory_budget_mib * 1024) {
    why = "--memory-budget-mib " + std::to_string(p_.memory_budget_mib);
    return false;
  }
  return true;
}

std::int64_t Parking::grow(const std::function<bool()>& add, const std::function<void(std::int64_t)>& settle) {
  std::string why;
  while (room(why)) {
    bool added = false;
    try {
      added = add();
    } catch (const std::system_error& e) {
      why = std::string("the OS refused: ") + e.what();
    } catch (const std::bad_alloc&) {
      why = "the allocator refused (std::bad_alloc)";
    }
    if (!added) {
      if (why.empty()) why = "the OS refused";
      why += "; the limits it states: " + wb::describe(wb::thread_limits());
      break;
    }
    ++parked_;
    if (parked_ >= next_sample_) {
      settle(parked_);
      sample();
    }
  }
  settle(parked_);
  if (points_.back().units != static_cast<double>(parked_)) sample();
  stopped_by_ = why;
  return parked_;
}

wb::Outcome Parking::record(wb::Run& run, std::int64_t finished) {
  std::vector<double> n, rss, kernel;
  for (const auto& pt : points_) {
    n.push_back(pt.units);
    rss.push_back(pt.rss_kib * 1024);
    kernel.push_back(pt.kernel_kib * 1024);
  }
  const auto user = least_squares(n, rss);
  const auto kern = least_squares(n, kernel);
  run.counter("units_parked", static_cast<double>(parked_));
  run.counter("units_unfinished", static_cast<double>(parked_ - finished));
  run.counter("user_bytes_per_unit", user.b);
  run.counter("kernel_bytes_per_unit", kern.b);
  run.counter("bytes_per_unit", user.b + kern.b);
  run.counter("fit_r2", user.r2);
  run.counter("rss_at_top_mib", points_.back().rss_kib / 1024);
  run.info("stopped_by", stopped_by_);
  if (p_.scenario == "memory" && parked_ < target_)
    throw std::runtime_error("parked " + std::to_string(parked_) + " of --units " + std::to_string(target_) +
                             ": stopped by " + stopped_by_ + " (try the ceiling scenario, or fewer units)");
  // The count differs by kind in the ceiling scenario; what all must share is that every unit
  // parked also finished.
  const std::string what = p_.scenario == "memory" ? "memory " + std::to_string(parked_) : std::string("ceiling");
  return {static_cast<std::uint64_t>(parked_), digest_of(what + (finished == parked_ ? " all finished" : " lost"))};
}

}  // namespace scheduling_costs
