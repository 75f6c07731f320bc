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
