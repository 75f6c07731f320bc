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

namespace {

// Arrangements of n1 a's and n2 b's by U (pairs with the a above), counts[u] for u in
// [0, n1 n2]; they sum to C(n1 + n2, n1).  Partitions of u into at most n1 parts of at most n2,
// by the usual recurrence over the last element.
std::vector<double> u_counts(std::size_t n1, std::size_t n2) {
  // f[m][k] over u, rolled in m.
  std::vector<std::vector<double>> prev(n2 + 1), cur(n2 + 1);
  for (std::size_t k = 0; k <= n2; ++k) prev[k] = {1.0};  // m = 0: one arrangement, U = 0
  for (std::size_t m = 1; m <= n1; ++m) {
    cur[0] = {1.0};
    for (std::size_t k = 1; k <= n2; ++k) {
      cur[k].assign(m * k + 1, 0.0);
      for (std::size_t u = 0; u <= m * k; ++u) {
        double c = 0;
        if (u >= k && u - k < prev[k].size()) c += prev[k][u - k];  // the last is an a: above all k b's
        if (u < cur[k - 1].size()) c += cur[k - 1][u];              // the last is a b
        cur[k][u] = c;
      }
    }
    std::swap(prev, cur);
  }
  return prev[n2];
}

// P(U >= u) under the null, exact for the sizes of a run's repetitions.
double u_upper_tail(std::size_t n1, std::size_t n2, double u) {
  const auto counts = u_counts(n1, n2);
  double total = 0, tail = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    total += counts[i];
    if (static_cast<double>(i) >= u) tail += counts[i];
  }
  return tail / total;
}

double binomial_upper_tail(std::size_t n, double k) {
  double tail = 0, c = 1;  // c = C(n, i)
  for (std::size_t i = 0; i <= n; ++i) {
    if (static_cast<double>(i) >= k) tail += c;
    c = c * static_cast<double>(n - i) / static_cast<double>(i + 1);
  }
  return tail / std::pow(2.0, static_cast<double>(n));
}

// x op y, for the claim's operator: "<", "<=", ">" or ">=".  A tie is on the side of "<=" and
// ">=", against "<" and ">".
bool on_side(double x, double y, bool strict, bool upper) {
  if (x == y) return !strict;
  return upper ? x < y : x > y;
}

}  // namespace

SideTest side_test(const std::vector<double>& a, const std::vector<double>& bounds, bool strict, bool upper) {
  SideTest t;
  if (a.empty() || bounds.empty()) return t;
  for (double x : a) {
    for (double y : bounds) (on_side(x, y, strict, upper) ? t.u_for : t.u_against) += 1;
  }
  t.p_for = u_upper_tail(a.size(), bounds.size(), t.u_for);
  t.p_against = u_upper_tail(a.size(), bounds.size(), t.u_against);
  return t;
}

SideTest sign_test(const std::vector<double>& a, double bound, bool strict, bool upper) {
  SideTest t;
  if (a.empty()) return t;
  for (double x : a) (on_side(x, bound, strict, upper) ? t.u_for : t.u_against) += 1;
  t.p_for = binomial_upper_tail(a.size(), t.u_for);
  t.p_against = binomial_upper_tail(a.size(), t.u_against);
  return t;
}

RatioInterval ratio_interval(const std::vector<double>& a, const std::vector<double>& b, double target) {
  RatioInterval r{NAN, NAN, 0};
  if (a.empty() || b.empty()) return r;
  std::vector<double> ratios;
  for (double x : a) {
    for (double y : b) {
      if (x <= 0 || y <= 0) return r;
      ratios.push_back(x / y);
    }
  }
  std::sort(ratios.begin(), ratios.end());
  const auto counts = u_counts(a.size(), b.size());
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  // The largest k with 2 P(U <= k - 1) <= 1 - target; at least 1 (min to max).
  std::size_t k = 1;
  double below = counts[0];  // P(U <= k - 1) x total
  while (k < counts.size() && 2 * (below + counts[k]) / total <= 1 - target) below += counts[k++];
  k = std::min(k, (ratios.size() + 1) / 2);
  r.low = ratios[k - 1];
  r.high = ratios[ratios.size() - k];
  r.coverage = 1 - 2 * below / total;
  return r;
}

RatioInterval ratio_interval_to(const std::vector<double>& a, double constant, double target) {
  RatioInterval r{NAN, NAN, 0};
  if (a.empty() || constant <= 0) return r;
  std::vector<double> xs;
  for (double x : a) {
    if (x < 0) return r;
    xs.push_back(x / constant);
  }
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  const double total = std::pow(2.0, static_cast<double>(n));
  std::size_t k = 1;
  double c = 1, below = 1;  // C(n, k - 1) and the sum up to it
  while (k < n) {
    c = c * static_cast<double>(n - k + 1) / static_cast<double>(k);
    if (2 * (below + c) / total > 1 - target) break;
    below += c;
    ++k;
  }
  k = std::min(k, (n + 1) / 2);
  r.low = xs[k - 1];
  r.high = xs[n - k];
  r.coverage = 1 - 2 * below / total;
  return r;
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
