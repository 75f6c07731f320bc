#include "runners/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "common/work.hpp"
#include "runners/metrics.hpp"
#include "runners/plan.hpp"
#include "runners/results_files.hpp"
#include "runners/statistics.hpp"

namespace wb::runner {

using nlohmann::json;

bool CompareReport::regression() const {
  return std::any_of(changes.begin(), changes.end(), [](const Change& c) { return c.verdict == "worse"; });
}

namespace {

// A merged file's trials also carry their host: a trial matches only its own machine's.
struct Key {
  std::string chapter, variant, host;
  json params;
  bool operator==(const Key& o) const {
    return chapter == o.chapter && variant == o.variant && host == o.host && params == o.params;
  }
};

std::vector<std::pair<Key, std::vector<const json*>>> group_by_key(const json& doc) {
  std::vector<std::pair<Key, std::vector<const json*>>> out;
  for (const auto& t : doc.at("trials")) {
    Key k{t.value("chapter", ""), t.value("variant", ""), t.value("host", ""), t.value("params", json::object())};
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == k; });
    if (it == out.end())
      out.push_back({k, {&t}});
    else
      it->second.push_back(&t);
  }
  return out;
}

std::string key_text(const Key& k, const json& doc) {
  const auto p = point_name(k.params, chapter_descriptions(doc).value(k.chapter, json()));
  return k.chapter + (k.host.empty() ? "" : "@" + k.host) + " " + k.variant + (p.empty() ? "" : " " + p);
}

}  // namespace

CompareReport compare_results(const json& old_doc, const json& new_doc, const CompareOptions& options) {
  CompareReport report;
  const auto olds = group_by_key(old_doc);
  const auto news = group_by_key(new_doc);
  for (const auto& [key, new_trials] : news) {
    const auto it = std::find_if(olds.begin(), olds.end(), [&](const auto& g) { return g.first == key; });
    if (it == olds.end()) {
      report.unmatched.push_back(key_text(key, new_doc) + ": only in NEW");
      continue;
    }
    const auto old_ok = ok_only(it->second);
    const auto new_ok = ok_only(new_trials);
    if (old_ok.empty() || new_ok.empty()) {
      report.unmatched.push_back(key_text(key, new_doc) + ": no successful trial in " +
                                 (old_ok.empty() ? "OLD" : "NEW"));
      continue;
    }
    for (const auto& metric : options.metrics) {
      Change c;
      c.chapter = key.chapter;
      c.variant = key.variant;
      c.params = key.params;
      c.metric = metric;
      for (const auto* t : old_ok) {
        if (const auto x = metric_number(*t, metric)) c.old_values.push_back(*x);
      }
      for (const auto* t : new_ok) {
        if (const auto x = metric_number(*t, metric)) c.new_values.push_back(*x);
      }
      if (c.old_values.empty() || c.new_values.empty()) continue;  // not a metric of this chapter
      c.old_median = median(c.old_values);
      c.new_median = median(c.new_values);
      c.change = c.old_median != 0 ? c.new_median / c.old_median - 1.0 : (c.new_median == 0 ? 0.0 : INFINITY);
      const bool large = std::fabs(c.change) > options.threshold;
      if (c.old_values.size() >= 2 && c.new_values.size() >= 2 &&
          min_rank_p(c.old_values.size(), c.new_values.size()) < options.alpha) {
        c.test = "U";
        c.p = mann_whitney_p(c.old_values, c.new_values);
        c.beyond_noise = large && c.p < options.alpha;
      } else {
        // Too few repetitions for the rank test to ever reach alpha: the change counts when the
        // bootstrap interval excludes zero and the median change clears the noise threshold.
        c.test = "bootstrap";
        std::tie(c.ci_low, c.ci_high) = bootstrap_change_ci(c.old_values, c.new_values, 1.0 - options.alpha);
        const bool excludes_zero = (c.ci_low > 0 && c.ci_high > 0) || (c.ci_low < 0 && c.ci_high < 0);
        c.beyond_noise = large && excludes_zero;
      }
      const int dir = better_direction(metric);
      if (!c.beyond_noise)
        c.verdict = "same";
      else if (dir == 0)
        c.verdict = "changed";
      else
        c.verdict = (c.change > 0) == (dir > 0) ? "better" : "worse";
      report.changes.push_back(std::move(c));
    }
  }
  for (const auto& [key, trials] : olds) {
    if (std::find_if(news.begin(), news.end(), [&](const auto& g) { return g.first == key; }) == news.end()) {
      report.unmatched.push_back(key_text(key, old_doc) + ": only in OLD");
    }
  }
  return report;
}

json to_json(const CompareReport& report, const CompareOptions& options) {
  json changes = json::array();
  for (const auto& c : report.changes) {
    json j{{"chapter", c.chapter},
           {"variant", c.variant},
           {"params", c.params},
           {"metric", c.metric},
           {"old", c.old_values},
           {"new", c.new_values},
           {"old_median", c.old_median},
           {"new_median", c.new_median},
           {"test", c.test},
           {"beyond_noise", c.beyond_noise},
           {"verdict", c.verdict}};
    j["change"] = std::isfinite(c.change) ? json(c.change) : json(nullptr);
    if (c.test == "U") j["p"] = c.p;
    if (c.test == "bootstrap") j["ci"] = {c.ci_low, c.ci_high};
    changes.push_back(std::move(j));
  }
  return json{{"threshold", options.threshold},
              {"alpha", options.alpha},
              {"regression", report.regression()},
              {"changes", changes},
              {"unmatched", report.unmatched}};
}

int cmd_compare(const std::string& old_path, const std::string& new_path, const CompareOptions& options,
                const std::string& json_out, bool fail_on_regression, bool changed_only) {
  const json old_doc = load_results(old_path);
  const json new_doc = load_results(new_path);
  const auto report = compare_results(old_doc, new_doc, options);

  std::printf("workbench compare\n  OLD %s: %s\n  NEW %s: %s\n", old_path.c_str(), context_line(old_doc).c_str(),
              new_path.c_str(), context_line(new_doc).c_str());
  std::printf("  a change counts when it is larger than %.0f%% and significant at %.2f\n", options.threshold * 100,
              options.alpha);
  std::size_t min_n = SIZE_MAX;
  bool any_boot = false;
  for (const auto& c : report.changes) {
    if (c.test == "bootstrap") {
      any_boot = true;
      min_n = std::min({min_n, c.old_values.size(), c.new_values.size()});
    }
  }
  if (any_boot) {
    std::printf(
        "  note: rows marked \"boot\" have too few repetitions for the rank test (with %zu against %zu the smallest\n"
        "        two-sided Mann-Whitney p is %.2f, never below %.2f); they are judged by the threshold and a\n"
        "        %.0f%% bootstrap interval of the change instead.  Use --repeat 5 or more for a rank test.\n",
        min_n, min_n, min_rank_p(min_n, min_n), options.alpha, (1 - options.alpha) * 100);
  }

  const json chapters = chapter_descriptions(new_doc);
  int variant_width = 5;
  for (const auto& c : report.changes) variant_width = std::max(variant_width, static_cast<int>(c.variant.size()));
  std::printf("\n%-12s %-*s %-24s %-16s %11s %11s %8s %-22s %s\n", "chapter", variant_width, "var", "point", "metric",
              "old", "new", "change", "test", "verdict");
  int shown = 0;
  for (const auto& c : report.changes) {
    if (changed_only && c.verdict == "same") continue;
    std::string point = point_name(c.params, chapters.value(c.chapter, json()));
    if (point.empty()) point = "defaults";
    char change[16], test[40];
    if (std::isfinite(c.change))
      std::snprintf(change, sizeof change, "%+.1f%%", c.change * 100);
    else
      std::snprintf(change, sizeof change, "new");
    if (c.test == "U")
      std::snprintf(test, sizeof test, "U p=%.3f", c.p);
    else
      std::snprintf(test, sizeof test, "boot [%+.0f%%,%+.0f%%]", c.ci_low * 100, c.ci_high * 100);
    const std::string verdict = c.verdict == "worse" ? "WORSE" : c.verdict;
    std::printf("%-12s %-*s %-24s %-16s %11s %11s %8s %-22s %s\n", fit(c.chapter, 12).c_str(), variant_width,
                c.variant.c_str(), fit(point, 24).c_str(), fit(c.metric, 16).c_str(),
                format_metric(c.metric, c.old_median).c_str(), format_metric(c.metric, c.new_median).c_str(), change,
                test, verdict.c_str());
    ++shown;
  }
  if (shown == 0 && !report.changes.empty()) std::printf("(no metric changed beyond noise)\n");
  for (const auto& u : report.unmatched) std::printf("unmatched: %s\n", u.c_str());

  int worse = 0, better = 0;
  for (const auto& c : report.changes) {
    worse += c.verdict == "worse";
    better += c.verdict == "better";
  }
  std::printf("\n%zu metrics compared: %d worse, %d better, %zu within noise\n", report.changes.size(), worse, better,
              report.changes.size() - static_cast<std::size_t>(worse + better));
  if (!json_out.empty()) write_json_or_stdout(json_out, to_json(report, options));
  std::fflush(stdout);
  if (report.changes.empty()) {
    std::fprintf(stderr, "workbench: the two files share no successful trial (same chapter, variant and parameters)\n");
    return 3;
  }
  return fail_on_regression && report.regression() ? 1 : 0;
}

}  // namespace wb::runner
