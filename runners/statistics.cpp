#include "runners/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/work.hpp"
#include "runners/plan.hpp"

namespace wb::runner {

std::vector<std::pair<double, double>> resampled_medians(const std::vector<double>& a, const std::vector<double>& b,
                                                         int resamples, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<std::pair<double, double>> out;
  out.reserve(static_cast<std::size_t>(resamples));
  std::vector<double> ra(a.size()), rb(b.size());
  for (int i = 0; i < resamples; ++i) {
    for (auto& x : ra) x = a[rng.next() % a.size()];
    for (auto& x : rb) x = b[rng.next() % b.size()];
    out.emplace_back(median(ra), median(rb));
  }
  return out;
}

std::pair<double, double> central_interval(std::vector<double>& xs, double confidence) {
  std::sort(xs.begin(), xs.end());
  const double tail = (1.0 - confidence) / 2.0;
  const auto at = [&](double q) {
    const auto idx = static_cast<std::size_t>(
        std::clamp(q * static_cast<double>(xs.size()), 0.0, static_cast<double>(xs.size() - 1)));
    return xs[idx];
  };
  return {at(tail), at(1.0 - tail)};
}

double min_rank_p(std::size_t n1, std::size_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  // C(n1 + n2, n1) in floating point: exact enough for the sizes that matter.
  double c = 1;
  for (std::size_t i = 1; i <= n1; ++i) c = c * static_cast<double>(n2 + i) / static_cast<double>(i);
  return std::min(1.0, 2.0 / c);
}

double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return 1.0;
  // Ranks of the pooled sample, ties sharing their mean rank.
  std::vector<std::pair<double, int>> pooled;
  for (double x : a) pooled.push_back({x, 0});
  for (double x : b) pooled.push_back({x, 1});
  std::sort(pooled.begin(), pooled.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  const std::size_t n = pooled.size();
  double r1 = 0, tie_term = 0;
  bool ties = false;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (pooled[k].second == 0) r1 += rank;
    }
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    i = j;
  }
  const double u1 = r1 - static_cast<double>(n1 * (n1 + 1)) / 2.0;
  const double nn = static_cast<double>(n1 * n2);

  if (!ties && n1 <= 25 && n2 <= 25) {
    // counts[m][k][u]: arrangements of m a's and k b's with U = u; f(m,k,u) = f(m-1,k,u-k) + f(m,k-1,u).
    const std::size_t umax = n1 * n2;
    std::vector<std::vector<std::vector<double>>> f(n1 + 1, std::vector<std::vector<double>>(n2 + 1));
    for (std::size_t m = 0; m <= n1; ++m) {
      for (std::size_t k = 0; k <= n2; ++k) {
        f[m][k].assign(m * k + 1, 0.0);
        if (m == 0 || k == 0) {
          f[m][k][0] = 1;
          continue;
        }
        for (std::size_t u = 0; u <= m * k; ++u) {
          double c = 0;
          if (u >= k && u - k <= (m - 1) * k) c += f[m - 1][k][u - k];
          if (u <= m * (k - 1)) c += f[m][k - 1][u];
          f[m][k][u] = c;
        }
      }
    }
    const auto& dist = f[n1][n2];
    const double total = std::accumulate(dist.begin(), dist.end(), 0.0);
    const auto u = static_cast<std::size_t>(std::llround(u1));
    double lower = 0, upper = 0;
    for (std::size_t i = 0; i <= umax; ++i) {
      if (i <= u) lower += dist[i];
      if (i >= u) upper += dist[i];
    }
    return std::min(1.0, 2.0 * std::min(lower, upper) / total);
  }

  const double mu = nn / 2.0;
  const double nd = static_cast<double>(n);
  const double sigma2 = nn / 12.0 * ((nd + 1.0) - tie_term / (nd * (nd - 1.0)));
  if (sigma2 <= 0) return 1.0;
  const double z = std::max(0.0, std::fabs(u1 - mu) - 0.5) / std::sqrt(sigma2);
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

std::pair<double, double> bootstrap_change_ci(const std::vector<double>& a, const std::vector<double>& b,
                                              double confidence, int resamples, std::uint64_t seed) {
  if (a.empty() || b.empty()) return {0, 0};
  std::vector<double> changes;
  changes.reserve(static_cast<std::size_t>(resamples));
  for (const auto& [ma, mb] : resampled_medians(a, b, resamples, seed)) {
    changes.push_back(ma != 0 ? mb / ma - 1.0 : (mb == 0 ? 0.0 : INFINITY));
  }
  return central_interval(changes, confidence);
}

}  // namespace wb::runner
