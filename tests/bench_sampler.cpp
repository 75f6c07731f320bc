// meson benchmark harness-sampler: what the harness's thread-count sampler costs, by period.
//
// For each period, an idle measured region of --seconds (the main thread sleeps, so every CPU
// second the process spends is the sampler's) reports the sampler's own CPU as a share of one
// core, and, inside the same region, 64 MiB touched and freed within a millisecond: the region's
// peak RSS must show it (to within 10 %) at every period, because it is the kernel's high-water mark, not a sample.
// The harness runs at wb::kSamplePeriod; resources.hpp says why that one.
#include "common/resources.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  double seconds = 2.0;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench-sampler [--seconds S]   (S > 0, default 2)\n");
      return 2;
    }
  }
  if (!(seconds > 0)) {
    std::fprintf(stderr, "bench-sampler: --seconds must be above 0\n");
    return 2;
  }
  constexpr std::size_t kBlock = 64u << 20;
  std::printf("%-10s %14s %14s %18s\n", "period", "sampler cpu", "% of a core", "64 MiB spike seen");
  for (const int period_us : {1000, 5000, 20000, 50000, 100000}) {
    wb::ResourceMeter meter{std::chrono::microseconds(period_us)};
    meter.start();
    {
      auto block = std::make_unique<char[]>(kBlock);
      volatile char* bytes = block.get();  // volatile: the stores must happen, though nothing reads them
      for (std::size_t i = 0; i < kBlock; i += 4096) bytes[i] = 1;  // every page touched, so resident
    }                                                               // and freed (unmapped) at once
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const auto u = meter.stop();
    // 90 %: the kernel folds each thread's page counts into the process's in batches, so the mark
    // can trail the truth by a few hundred kiB.
    const bool seen = static_cast<double>(u.peak_rss_kib - u.start_rss_kib) * 1024 >= 0.9 * static_cast<double>(kBlock);
    std::printf("%7.0f ms %12.4f s %13.3f %% %18s%s\n", period_us / 1000.0, u.harness_cpu_s,
                100.0 * u.harness_cpu_s / u.wall_s, seen ? "yes" : "NO",
                std::chrono::microseconds(period_us) == wb::kSamplePeriod ? "   <- the harness's period" : "");
    if (!seen) return 1;
  }
  return 0;
}
