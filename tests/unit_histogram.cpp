#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "common/histogram.hpp"

namespace {

// The exact nearest-rank percentile of sorted samples, the histogram's definition.
double exact(const std::vector<std::int64_t>& sorted, double q) {
  const auto n = sorted.size();
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::max<std::size_t>(rank, 1);
  return static_cast<double>(sorted[rank - 1]);
}

}  // namespace

TEST_CASE("every bucket holds only values within 1/128 of its lower bound", "[histogram]") {
  for (std::size_t i = 0; i < wb::Histogram::kBuckets; ++i) {
    const auto lo = wb::Histogram::bucket_low(i);
    const auto hi = wb::Histogram::bucket_high(i);
    REQUIRE(lo <= hi);
    REQUIRE(wb::Histogram::index_of(lo) == i);
    REQUIRE(wb::Histogram::index_of(hi) == i);
    if (i + 1 < wb::Histogram::kBuckets) REQUIRE(wb::Histogram::bucket_low(i + 1) == hi + 1);
    if (lo >= 256) REQUIRE(static_cast<double>(hi - lo + 1) <= static_cast<double>(lo) / 128.0);
  }
}

TEST_CASE("percentiles are within 1 % of exact percentiles from 1 us to 1 h", "[histogram]") {
  std::mt19937_64 rng(42);
  // Log-uniform over 1 us .. 1 h, so every decade of the range is exercised.
  std::uniform_real_distribution<double> exponent(3.0, std::log10(3.6e12));
  std::vector<std::int64_t> samples;
  wb::Histogram h;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<std::int64_t>(std::pow(10.0, exponent(rng)));
    samples.push_back(v);
    h.record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (const double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const double want = exact(samples, q);
    const double got = h.quantile_ns(q);
    INFO("q=" << q << " exact=" << want << " histogram=" << got);
    CHECK(std::fabs(got - want) <= 0.01 * want);
  }
  CHECK(h.count() == samples.size());
  CHECK(h.max_ns() == static_cast<std::uint64_t>(samples.back()));
  CHECK(h.min_ns() == static_cast<std::uint64_t>(samples.front()));
}

TEST_CASE("a latency-like distribution keeps its tail percentiles", "[histogram]") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(std::log(200'000.0), 0.8);  // ~200 us median
  std::vector<std::int64_t> samples;
  wb::Histogram h;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<std::int64_t>(dist(rng));
    samples.push_back(v);
    h.record(v);
  }
  std::sort(samples.begin(), samples.end());
  const auto s = h.summary();
  CHECK(s.count == samples.size());
  CHECK(std::fabs(s.p50_us * 1e3 - exact(samples, 0.5)) <= 0.01 * exact(samples, 0.5));
  CHECK(std::fabs(s.p99_us * 1e3 - exact(samples, 0.99)) <= 0.01 * exact(samples, 0.99));
  CHECK(std::fabs(s.p999_us * 1e3 - exact(samples, 0.999)) <= 0.01 * exact(samples, 0.999));
  double sum = 0;
  for (auto v : samples) sum += static_cast<double>(v);
  CHECK(s.mean_us * 1e3 == Approx(sum / static_cast<double>(samples.size())).epsilon(1e-9));
}

TEST_CASE("merged histograms equal one histogram of all samples", "[histogram]") {
  wb::Histogram a, b, all;
  for (std::int64_t v = 1; v < 50'000; v += 7) {
    (v % 2 ? a : b).record(v * 1000);
    all.record(v * 1000);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  for (const double q : {0.1, 0.5, 0.9, 0.99}) CHECK(a.quantile_ns(q) == all.quantile_ns(q));
  CHECK(a.mean_ns() == all.mean_ns());
  CHECK(a.max_ns() == all.max_ns());
  CHECK(a.min_ns() == all.min_ns());
}

TEST_CASE("recording from many threads at once loses no sample", "[histogram]") {
  wb::Histogram h;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50'000;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&h, t] {
        for (int i = 0; i < kPerThread; ++i) h.record((t + 1) * 1000 + i % 100);
      });
    }
  }
  CHECK(h.count() == static_cast<std::uint64_t>(kThreads) * kPerThread);
  CHECK(h.max_ns() == kThreads * 1000 + 99);
  CHECK(h.min_ns() == 1000);
}

TEST_CASE("an empty histogram reports zeros and negative durations count as zero", "[histogram]") {
  wb::Histogram h;
  CHECK(h.summary().count == 0);
  CHECK(h.quantile_ns(0.5) == 0);
  h.record(-5);
  CHECK(h.count() == 1);
  CHECK(h.max_ns() == 0);
}
