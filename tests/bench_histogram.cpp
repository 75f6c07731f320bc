// meson benchmark: the cost of recording one latency sample (target: <= 20 ns).
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "common/histogram.hpp"

TEST_CASE("recording one sample", "[benchmark]") {
  wb::Histogram h;
  std::int64_t v = 12'345;
  BENCHMARK("Histogram::record, one thread") {
    v = (v * 1103515245 + 12345) & 0xffffffffLL;  // vary the bucket
    h.record(v);
    return v;
  };
  CHECK(h.count() > 0);
}
