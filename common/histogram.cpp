#include "common/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace wb {

static_assert(Histogram::index_of(255) == 255);
static_assert(Histogram::index_of(256) == 256);
static_assert(Histogram::bucket_low(Histogram::index_of(1000)) <= 1000);
static_assert(Histogram::bucket_high(Histogram::index_of(1000)) >= 1000);
static_assert(Histogram::index_of(UINT64_MAX) == Histogram::kBuckets - 1);

Histogram::Histogram() : buckets_(new std::atomic<std::uint64_t>[kBuckets]) { reset(); }

void Histogram::reset() noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
  sum_ns_.store(0, std::memory_order_relaxed);
  max_ns_.store(0, std::memory_order_relaxed);
  min_ns_.store(UINT64_MAX, std::memory_order_relaxed);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    const auto n = other.buckets_[i].load(std::memory_order_relaxed);
    if (n) buckets_[i].fetch_add(n, std::memory_order_relaxed);
  }
  sum_ns_.fetch_add(other.sum_ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  const auto omax = other.max_ns_.load(std::memory_order_relaxed);
  if (omax > max_ns_.load(std::memory_order_relaxed)) max_ns_.store(omax, std::memory_order_relaxed);
  const auto omin = other.min_ns_.load(std::memory_order_relaxed);
  if (omin < min_ns_.load(std::memory_order_relaxed)) min_ns_.store(omin, std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

double Histogram::mean_ns() const noexcept {
  const auto n = count();
  return n ? static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / static_cast<double>(n) : 0.0;
}

double Histogram::quantile_ns(double q) const noexcept {
  const auto n = count();
  if (n == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the sample at quantile q, 1-based, as in "nearest rank": ceil(q * n), at least 1.
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      const double mid = (static_cast<double>(bucket_low(i)) + static_cast<double>(bucket_high(i))) / 2.0;
      return std::clamp(mid, static_cast<double>(min_ns()), static_cast<double>(max_ns()));
    }
  }
  return static_cast<double>(max_ns());
}

LatencySummary Histogram::summary() const {
  LatencySummary s;
  s.count = count();
  if (s.count == 0) return s;
  s.mean_us = mean_ns() / 1e3;
  s.p50_us = quantile_ns(0.50) / 1e3;
  s.p90_us = quantile_ns(0.90) / 1e3;
  s.p99_us = quantile_ns(0.99) / 1e3;
  s.p999_us = quantile_ns(0.999) / 1e3;
  s.max_us = static_cast<double>(max_ns()) / 1e3;
  s.min_us = static_cast<double>(min_ns()) / 1e3;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (const auto n = buckets_[i].load(std::memory_order_relaxed))
      s.buckets.push_back({bucket_low(i), bucket_high(i), n});
  }
  return s;
}

}  // namespace wb
