// The statistics the commands share: the Mann-Whitney U test and the bootstrap, with fixed
// seeds so that the same file always gives the same answer.  `compare` and the claims'
// verdicts (check.cpp) both resample medians here.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace wb::runner {

// Two-sided Mann-Whitney U test p-value.  Exact (the U distribution counted by dynamic
// programming) when there are no ties and both samples are small, else the normal approximation
// with tie and continuity corrections.  1.0 when a side is empty.
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

// The smallest two-sided p-value an exact rank test can give with these sample sizes:
// 2 / C(n1 + n2, n1).  For 3 against 3 it is 0.1, so such a test can never reach p < 0.05.
double min_rank_p(std::size_t n1, std::size_t n2);

// A claim's test: is `a` on the claim's side of a bound set by `b` (b scaled by a factor, or a
// constant)?  Exact at the small sizes a workbench run has (three or five repetitions), so its
// level is what it says — a resampled median cannot promise that with three values a side.
//
// Against a sample (Mann-Whitney, one-sided): of the n1 x n2 pairs (a_i, factor x b_j), U_for
// count those on the claim's side (a tie is on the side of "<=", not of "<"); under "no
// difference" every
// arrangement of the pooled sample is equally likely, so p_for = P(U >= U_for) is exact.  At
// 3 + 3 the smallest p is 1/20 = 0.05 (every pair on the side), at 5 + 5 it is 1/252.
// Against a constant (a sign test): of the n values, k are on the side; p_for = P(Bin(n, 1/2) >= k):
// 0.125 at n = 3, 0.031 at n = 5 — a constant bound needs five repetitions to decide.
// p_against is the same for the other side.
struct SideTest {
  double u_for = 0, u_against = 0;  // pairs (or values) on each side
  double p_for = 1, p_against = 1;
};
// upper: the claim is "a < bound" ("<" or "<="); strict: "<" or ">".
SideTest side_test(const std::vector<double>& a, const std::vector<double>& bounds, bool strict, bool upper);
SideTest sign_test(const std::vector<double>& a, double bound, bool strict, bool upper);

// The exact distribution-free interval of a / b that goes with the rank test (Moses): the k-th
// smallest and k-th largest of the n1 x n2 pairwise ratios, k the largest with
// 2 P(U <= k - 1) <= 1 - target.  Its coverage is exact and returned: 0.90 at 3 + 3 (the widest,
// min to max), 0.905 at 5 + 5.  Against a constant the same for the median's order statistics
// (0.75 at n = 3, 0.94 at n = 5).  Values must be positive; otherwise {NaN, NaN, 0}.
struct RatioInterval {
  double low = 0, high = 0, coverage = 0;
};
RatioInterval ratio_interval(const std::vector<double>& a, const std::vector<double>& b, double target = 0.90);
RatioInterval ratio_interval_to(const std::vector<double>& a, double constant, double target = 0.90);

// Percentile bootstrap interval of median(b) / median(a) - 1 (a relative change), with a fixed
// seed so a report is reproducible.
std::pair<double, double> bootstrap_change_ci(const std::vector<double>& a, const std::vector<double>& b,
                                              double confidence = 0.95, int resamples = 4000,
                                              std::uint64_t seed = 0x5eed);

// The medians of `resamples` bootstrap resamples of a and of b (each resampled on its own),
// from a fixed seed so the same data always gives the same answer.
std::vector<std::pair<double, double>> resampled_medians(const std::vector<double>& a, const std::vector<double>& b,
                                                         int resamples, std::uint64_t seed);

// The central `confidence` share of xs (sorted in place): its percentile interval.
std::pair<double, double> central_interval(std::vector<double>& xs, double confidence);

}  // namespace wb::runner
