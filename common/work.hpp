// Small workload helpers shared by chapters.
#pragma once

#include <chrono>
#include <cstdint>

namespace wb {

// Simulated CPU work: keeps this thread busy (not asleep) for `ms` milliseconds.  It stands for
// parsing, hashing or compressing what was just read; unlike a sleep it holds a core, so it
// shows what CPU work does to an event loop and to threads on a 2-core machine.
inline void burn_cpu_ms(std::int64_t ms) {
  if (ms <= 0) return;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  volatile std::uint64_t sink = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<std::uint64_t>(i);
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
