// Small workload helpers shared by chapters.
#pragma once

#include <cstdint>
#include <ctime>

namespace wb {

// Simulated CPU work: keeps this thread busy for `ms` milliseconds of its own CPU time.  It
// stands for parsing, hashing or compressing what was just read; unlike a sleep it holds a
// core.  The clock is the thread's CPU clock, not the wall clock, so the work is the same
// amount whether the thread runs alone or shares a core with fifteen others — on a 2-core
// machine, 16 threads each doing 5 ms take about 16 * 5 / 2 = 40 ms of wall time, as real work
// would.
inline void burn_cpu_ms(std::int64_t ms) {
  if (ms <= 0) return;
  auto cpu_ns = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  };
  const std::int64_t until = cpu_ns() + ms * 1'000'000;
  volatile std::uint64_t sink = 0;
  while (cpu_ns() < until) {
    // Reading the thread CPU clock is a system call: check it every ~20 us, not every loop.
    for (int i = 0; i < 20000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  }
}

// splitmix64: a seeded, fast, well-mixed sequence for generated content and random choices.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace wb
