// Latency histogram: log-linear buckets in the style of HdrHistogram.
//
// Values are nanoseconds.  Below 2^kPrecisionBits every value has a bucket of its own; above,
// each power of two is split into 2^(kPrecisionBits-1) equal buckets, so a bucket's width is at
// most 1/128 of its lower bound and the midpoint we report is within 0.4 % of any value that
// fell in it — well inside the 1 % we promise from 1 µs to 1 h (and beyond, to 2^63 ns).
//
// Recording is lock-free: each bucket is a relaxed atomic counter, so thousands of threads (the
// sync variants) or one event-loop thread (the async ones) record into the same histogram with
// no mutex.  Relaxed order is enough because nobody reads the counts until the writers have been
// joined, and join gives the happens-before.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace wb {

struct LatencySummary {
  std::uint64_t count = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double min_us = 0;
  // The non-empty buckets, {lowest ns, highest ns, count}, in value order: enough to draw the
  // whole percentile spectrum later and to merge repetitions exactly.
  struct Bucket {
    std::uint64_t low_ns, high_ns, count;
  };
  std::vector<Bucket> buckets;
};

class Histogram {
 public:
  static constexpr int kPrecisionBits = 8;
  static constexpr std::uint64_t kLinearLimit = std::uint64_t{1} << kPrecisionBits;  // 256
  static constexpr std::size_t kHalf = kLinearLimit / 2;                             // 128
  // 256 exact buckets, then 128 per power of two from 2^8 to 2^63.
  static constexpr std::size_t kBuckets = kLinearLimit + (64 - kPrecisionBits) * kHalf;

  Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Thread-safe.  Negative durations (a clock that went backwards) count as 0.
  void record(std::int64_t ns) noexcept {
    const std::uint64_t v = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
    buckets_[index_of(v)].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(v, std::memory_order_relaxed);
    // Max and min change rarely once a run warms up, so the load usually ends the work.
    std::uint64_t seen = max_ns_.load(std::memory_order_relaxed);
    while (v > seen && !max_ns_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
    }
    seen = min_ns_.load(std::memory_order_relaxed);
    while (v < seen && !min_ns_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
    }
  }

  // Adds other's counts to this one.  Not to be called while other is still being written.
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept;
  double mean_ns() const noexcept;
  std::uint64_t max_ns() const noexcept { return count() ? max_ns_.load(std::memory_order_relaxed) : 0; }
  std::uint64_t min_ns() const noexcept { return count() ? min_ns_.load(std::memory_order_relaxed) : 0; }
  // The value at quantile q in [0, 1] (the midpoint of its bucket, clamped to [min, max]);
  // 0 for an empty histogram.
  double quantile_ns(double q) const noexcept;
  LatencySummary summary() const;

  static constexpr std::size_t index_of(std::uint64_t v) noexcept {
    if (v < kLinearLimit) return static_cast<std::size_t>(v);
    const int top = 63 - __builtin_clzll(v);                               // >= kPrecisionBits
    const int shift = top - (kPrecisionBits - 1);                          // keep kPrecisionBits significant bits
    const std::size_t sub = static_cast<std::size_t>(v >> shift) - kHalf;  // 0 .. kHalf-1
    return kLinearLimit + static_cast<std::size_t>(top - kPrecisionBits) * kHalf + sub;
  }
  // [lowest, highest] value that lands in bucket i.
  static constexpr std::uint64_t bucket_low(std::size_t i) noexcept {
    if (i < kLinearLimit) return i;
    const std::size_t j = i - kLinearLimit;
    const int shift = static_cast<int>(j / kHalf) + 1;
    return (static_cast<std::uint64_t>(kHalf + j % kHalf)) << shift;
  }
  static constexpr std::uint64_t bucket_high(std::size_t i) noexcept {
    if (i < kLinearLimit) return i;
    const std::size_t j = i - kLinearLimit;
    const int shift = static_cast<int>(j / kHalf) + 1;
    return bucket_low(i) + ((std::uint64_t{1} << shift) - 1);
  }

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> max_ns_{0};
  std::atomic<std::uint64_t> min_ns_{UINT64_MAX};
};

}  // namespace wb
