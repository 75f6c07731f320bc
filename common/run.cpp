// Run: one variant measured in this process (common/chapter.hpp).
#include "common/chapter.hpp"

#include <algorithm>

#include "common/digest.hpp"

namespace wb {

namespace {

// At most `points` samples: the span cut into equal time slices, each keeping its largest value
// (at that value's time).
std::vector<std::array<double, 2>> thin(const std::vector<std::array<double, 2>>& s, std::size_t points) {
  if (s.size() <= points) return s;
  const double t0 = s.front()[0], span = std::max(s.back()[0] - t0, 1e-9);
  std::vector<std::array<double, 2>> out;
  std::size_t slice = SIZE_MAX;
  for (const auto& p : s) {
    const auto k = std::min(points - 1, static_cast<std::size_t>((p[0] - t0) / span * static_cast<double>(points)));
    if (k != slice) {
      out.push_back(p);
      slice = k;
    } else if (p[1] > out.back()[1]) {
      out.back() = p;
    }
  }
  return out;
}

}  // namespace

void Run::begin() {
  measuring_ = true;
  latency_.reset();
  start_tracing(trace_);  // narration's clock starts with the measured region
  began_ = std::chrono::steady_clock::now();
  meter_.start();
}

void Run::sample(const std::string& series, double value) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
  const std::lock_guard lock(series_mu_);
  record_.series[series].push_back({t, value});
}

void Run::end(const Outcome& outcome) {
  const auto usage = meter_.stop();
  measuring_ = false;
  measured_ = true;
  auto& m = record_.metrics;
  m.resources = usage;
  m.wall_s = usage.wall_s;
  m.ops = outcome.ops;
  m.throughput_ops_s = usage.wall_s > 0 ? static_cast<double>(outcome.ops) / usage.wall_s : 0.0;
  m.latency = latency_.summary();
  record_.result_digest = outcome.digest;
  const std::lock_guard lock(series_mu_);
  for (auto& [name, points] : record_.series) {
    std::stable_sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
    points = thin(points, kSeriesPoints);
  }
}

std::string Run::plan_digest(const std::string& outcome) const {
  const std::string text = record_.params.dump() + "\n" + outcome;
  Digest d;
  d.update(text.data(), text.size());
  return Digest::hex(d.finish());
}

void Run::fail(const std::string& reason) {
  if (measuring_) end(Outcome{latency_.count(), ""});
  record_.status = "failed";
  record_.reason = reason;
}

}  // namespace wb
