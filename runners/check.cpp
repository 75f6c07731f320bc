#include "runners/check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "common/format.hpp"
#include "common/work.hpp"
#include "runners/metrics.hpp"
#include "runners/plan.hpp"
#include "runners/results_files.hpp"
#include "runners/statistics.hpp"

namespace wb::runner {

using nlohmann::json;

int CheckReport::exit_code() const {
  bool missing = false;
  for (const auto& v : verdicts) {
    if (v.is_claim()) continue;
    if (v.status == "fail") return 1;
    if (v.status == "missing") missing = true;
  }
  return missing ? 3 : 0;
}

namespace {

bool matches(const json& params, const json& where) {
  if (!where.is_object()) return true;
  for (const auto& [k, v] : where.items()) {
    if (!params.contains(k) || params[k] != v) return false;
  }
  return true;
}

struct Side {
  std::string variant, metric;  // empty variant: a constant
  double constant = 0;
};

Side parse_side(const std::string& text) {
  Side s;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (!text.empty() && end && *end == '\0') {
    s.constant = v;
    return s;
  }
  const auto dot = text.find('.');
  if (dot == std::string::npos)
    throw std::invalid_argument("expectation side \"" + text + "\" is neither a number nor variant.metric");
  s.variant = text.substr(0, dot);
  s.metric = text.substr(dot + 1);
  return s;
}

// The trials of one variant at exactly these parameters.
std::vector<const json*> trials_at(const std::vector<const json*>& chapter_trials, const std::string& variant,
                                   const json& params) {
  std::vector<const json*> out;
  for (const auto* t : chapter_trials) {
    if (t->value("variant", "") == variant && t->value("params", json::object()) == params) out.push_back(t);
  }
  return out;
}

bool compare_op(double l, const std::string& op, double r) {
  if (op == "<") return l < r;
  if (op == "<=") return l <= r;
  if (op == ">") return l > r;
  if (op == ">=") return l >= r;
  if (op == "==") return l == r;
  throw std::invalid_argument("unknown operator " + op);
}

// How far inside the bound (> 1) or outside it (< 1): bound / value for "<", value / bound for ">".
double margin_of(double l, const std::string& op, double r) {
  if (op == "==") return l == r ? 1.0 : 0.0;
  const bool upper = op[0] == '<';
  if (upper) {
    if (l == 0) return r > 0 ? INFINITY : (r == 0 ? 1.0 : 0.0);
    return l > 0 && r >= 0 ? r / l : 0.0;
  }
  if (r == 0) return l > 0 ? INFINITY : (l == 0 ? 1.0 : 0.0);
  return r > 0 && l >= 0 ? l / r : 0.0;
}

bool info_matches(const json& trial, const json& only_if) {
  if (!only_if.is_object()) return true;
  const json info = trial.value("info", json::object());
  for (const auto& [k, v] : only_if.items()) {
    if (!info.contains(k) || info[k] != v) return false;
  }
  return true;
}

std::optional<std::vector<double>> values_of(const std::vector<const json*>& ts, const std::string& metric) {
  std::vector<double> xs;
  for (const auto* t : ts) {
    const auto x = metric_number(*t, metric);
    if (!x) return std::nullopt;
    xs.push_back(*x);
  }
  return xs;
}

// The level of every claim's test, one-sided, and the interval's coverage that goes with it.
constexpr double kLevel = 0.05;
constexpr double kCoverage = 1 - 2 * kLevel;

// A claim's verdict from its repetitions: an exact one-sided test of lhs against factor x rhs
// (statistics.hpp).  Holds when the test puts lhs on the claim's side at 5 %, does not hold when
// it puts it on the other side, inconclusive otherwise.  With three repetitions a side that
// takes every pair on one side (p = 1/20); with five, 1/252 at best.
void judge_claim(Verdict& v, const std::string& op, double factor, const std::vector<double>& ls,
                 const std::vector<double>& rs, bool constant) {
  v.n_lhs = ls.size();
  v.n_rhs = constant ? 0 : rs.size();
  const double r_median = median(rs);
  if (r_median != 0) v.ratio = v.lhs_median / r_median;
  const RatioInterval ci = constant ? ratio_interval_to(ls, rs.front(), kCoverage) : ratio_interval(ls, rs, kCoverage);
  v.ratio_low = ci.low;
  v.ratio_high = ci.high;
  v.coverage = ci.coverage;
  if (ls.size() < 2 || (!constant && rs.size() < 2)) {
    v.status = "inconclusive";
    v.detail += "; a single repetition decides nothing: run --repeat 5 for a verdict";
    return;
  }
  const auto test_of = [&](const std::string& o, double f, const std::vector<double>& xs,
                           const std::vector<double>& ys) {
    const bool upper = o[0] == '<', strict = o.size() == 1;
    if (constant) return sign_test(xs, f * ys.front(), strict, upper);
    std::vector<double> bounds;
    for (double y : ys) bounds.push_back(f * y);
    return side_test(xs, bounds, strict, upper);
  };
  char p[64];
  if (op == "~") {
    // A tie: lhs <= factor x rhs and rhs <= factor x lhs, both at 5 % (two one-sided tests).
    const SideTest below = test_of("<=", factor, ls, rs);
    const SideTest above = test_of(">=", 1.0 / factor, ls, rs);
    if (below.p_for <= kLevel && above.p_for <= kLevel) {
      v.status = "tie";
      v.p_value = std::max(below.p_for, above.p_for);
    } else if (below.p_against <= kLevel || above.p_against <= kLevel) {
      v.status = "not a tie";
      v.p_value = std::min(below.p_against, above.p_against);
    } else {
      v.status = "inconclusive";
      v.p_value = std::max(below.p_for, above.p_for);
    }
  } else {
    const SideTest t = test_of(op, factor, ls, rs);
    if (t.p_for <= kLevel) {
      v.status = "holds";
      v.p_value = t.p_for;
    } else if (t.p_against <= kLevel) {
      v.status = "does not hold";
      v.p_value = t.p_against;
    } else {
      v.status = "inconclusive";
      v.p_value = std::min(t.p_for, t.p_against);
    }
  }
  std::snprintf(p, sizeof p, "; %s p = %.3g", constant ? "sign test" : "rank test", v.p_value);
  v.detail += p;
}

// A failed trial the OS refused (a thread, a descriptor, memory): the model met a wall.
bool refused_by_the_os(const json& trial) {
  if (trial.value("status", "") == "ok") return false;
  const std::string reason = trial.value("reason", "");
  for (const char* mark : {"the OS refused", "Too many open files", "Cannot allocate memory",
                           "Resource temporarily unavailable", "std::bad_alloc"}) {
    if (reason.find(mark) != std::string::npos) return true;
  }
  return false;
}

Verdict evaluate_at(const Verdict& base, const json& e, const Side& lhs, const Side& rhs,
                    const std::vector<const json*>& lhs_all, const std::vector<const json*>& rhs_all) {
  Verdict v = base;
  const auto lhs_ok = ok_only(lhs_all);
  const auto rhs_ok = ok_only(rhs_all);
  const std::string op = e.value("op", "");
  const double factor = e.value("factor", 1.0);
  const bool constant = rhs.variant.empty();
  auto count_text = [](const std::string& side, std::size_t ok, std::size_t all) {
    return side + " " + std::to_string(ok) + "/" + std::to_string(all) + " ok";
  };
  v.detail = count_text(lhs.variant, lhs_ok.size(), lhs_all.size());
  if (!constant) v.detail += ", " + count_text(rhs.variant, rhs_ok.size(), rhs_all.size());
  if (v.is_claim() && !e.value("refused_holds", "").empty()) {
    // The claim's wall: every trial of that variant refused by the OS.
    const std::string walled = e.value("refused_holds", "");
    const auto& ts = walled == lhs.variant ? lhs_all : rhs_all;
    const bool all_refused =
        !ts.empty() && std::all_of(ts.begin(), ts.end(), [](const json* t) { return refused_by_the_os(*t); });
    if (all_refused) {
      v.status = "holds";
      v.lhs = walled + " refused";
      v.detail = "the OS refused every " + walled + " trial (" + std::to_string(ts.size()) +
                 "): " + ts.front()->value("reason", "");
      return v;
    }
  }
  if (lhs_ok.empty() || (!constant && rhs_ok.empty())) {
    v.status = "missing";
    v.detail = "no successful trial on a side (" + v.detail + ")";
    return v;
  }
  const auto pass_or = [&](bool ok) {
    return v.is_claim() ? (ok ? "holds" : "does not hold") : (ok ? "pass" : "fail");
  };

  if (op == "==" && metric_text(*lhs_ok.front(), lhs.metric)) {
    // Text (digests): every repetition on both sides must agree.
    std::set<std::string> seen;
    for (const auto* t : lhs_ok) seen.insert(metric_text(*t, lhs.metric).value_or("<none>"));
    for (const auto* t : rhs_ok) seen.insert(metric_text(*t, rhs.metric).value_or("<none>"));
    const auto show = [](const std::string& s) { return s.size() > 16 ? s.substr(0, 16) + "…" : s; };
    v.lhs = show(metric_text(*lhs_ok.front(), lhs.metric).value_or(""));
    v.rhs = show(metric_text(*rhs_ok.front(), rhs.metric).value_or(""));
    v.n_lhs = lhs_ok.size();
    v.n_rhs = rhs_ok.size();
    v.status = pass_or(seen.size() == 1);
    v.detail += seen.size() == 1 ? ", all equal" : ", " + std::to_string(seen.size()) + " distinct values";
    return v;
  }

  const auto ls = values_of(lhs_ok, lhs.metric);
  const auto rs =
      constant ? std::optional<std::vector<double>>(std::vector<double>{rhs.constant}) : values_of(rhs_ok, rhs.metric);
  if (!ls || !rs) {
    v.status = "missing";
    v.detail = "metric " + (!ls ? lhs.metric : rhs.metric) + " is not in the trials";
    return v;
  }
  const double l = median(*ls), r = median(*rs);
  const double bound = factor * r;
  const std::string unit_metric = lhs.metric;  // both sides of a ratio share the unit
  v.lhs_median = l;
  v.rhs_median = r;
  v.lhs = format_metric(unit_metric, l);
  v.rhs = factor == 1.0 ? format_metric(unit_metric, r) : human_number(factor) + " x " + format_metric(unit_metric, r);
  v.margin = op == "~" ? 0.0 : margin_of(l, op, bound);
  if (op == "~") v.rhs = "within " + human_number(factor) + "x of " + format_metric(unit_metric, r);
  if (v.is_claim()) {
    judge_claim(v, op, factor, *ls, *rs, constant);
  } else {
    v.n_lhs = ls->size();
    v.n_rhs = constant ? 0 : rs->size();
    if (r != 0) v.ratio = l / r;
    v.status = pass_or(op == "~" ? l <= bound && r <= factor * l : compare_op(l, op, bound));
  }
  return v;
}

}  // namespace

namespace {

void check_chapter(CheckReport& report, const std::string& chapter, const json& description,
                   const std::vector<const json*>& chapter_trials, const std::string& host, int cpus) {
  // The distinct parameter points, in first-seen order.
  std::vector<json> points;
  for (const auto* t : chapter_trials) {
    const json p = t->value("params", json::object());
    if (std::find(points.begin(), points.end(), p) == points.end()) points.push_back(p);
  }
  for (const auto& e : description["expectations"]) {
    Verdict base;
    base.chapter = chapter;
    base.host = host;
    base.id = e.value("id", "");
    base.kind = e.value("kind", "invariant");  // files from before kinds: every expectation gated
    base.claim = e.value("claim", "");
    base.op = e.value("op", "");
    base.text = e.value("text", "");
    base.why = e.value("why", "");
    base.by_construction = e.value("by_construction", "");
    base.context = e.value("context", "");
    if (base.context.empty() && base.op == "~") base.context = "a tie is context, not evidence";
    const int min_cpus = e.value("min_cpus", 0);
    if (base.is_claim() && min_cpus > 0 && cpus > 0 && cpus < min_cpus) {
      base.status = "n/a";
      base.detail = "needs " + std::to_string(min_cpus) + " CPUs or more; this run had " + std::to_string(cpus);
      report.verdicts.push_back(base);
      continue;
    }
    Side lhs, rhs;
    try {
      lhs = parse_side(e.value("lhs", ""));
      rhs = parse_side(e.value("rhs", ""));
    } catch (const std::invalid_argument& err) {
      base.status = "fail";
      base.detail = std::string("malformed expectation: ") + err.what();
      report.verdicts.push_back(base);
      continue;
    }
    const json where = e.value("where", json::object());
    const json lhs_where = e.value("lhs_where", json::object());
    const json rhs_where = e.value("rhs_where", json::object());
    const json only_if = e.value("only_if", json::object());
    const auto applicable = [&](std::vector<const json*> ts) {
      ts.erase(std::remove_if(ts.begin(), ts.end(), [&](const json* t) { return !info_matches(*t, only_if); }),
               ts.end());
      return ts;
    };
    bool any = false;
    for (const auto& p : points) {
      if (!matches(p, where) || !matches(p, lhs_where)) continue;
      json rhs_params = p;
      if (rhs_where.is_object()) {
        for (const auto& [k, val] : rhs_where.items()) rhs_params[k] = val;
      }
      const auto lhs_run = trials_at(chapter_trials, lhs.variant, p);
      if (lhs_run.empty()) continue;  // this point was run for the other variant only
      any = true;
      Verdict b = base;
      b.point = p;
      const auto lhs_all = applicable(lhs_run);
      if (lhs_all.empty()) {
        b.status = "n/a";
        b.detail = "applies only where " + only_if.dump() + "; this run's " + lhs.variant + " trials had " +
                   lhs_run.front()->value("info", json::object()).dump();
        report.verdicts.push_back(b);
        continue;
      }
      const auto rhs_all = rhs.variant.empty() ? std::vector<const json*>{}
                                               : applicable(trials_at(chapter_trials, rhs.variant, rhs_params));
      report.verdicts.push_back(evaluate_at(b, e, lhs, rhs, lhs_all, rhs_all));
    }
    if (!any) {
      base.status = "missing";
      json need = where.is_object() ? where : json::object();
      if (lhs_where.is_object()) need.update(lhs_where);
      base.needs = need;
      base.detail = "no " + lhs.variant + " trial of " + chapter + (need.empty() ? "" : " at " + need.dump()) +
                    (rhs_where.is_object() && !rhs_where.empty() ? " (and its pair at " + rhs_where.dump() + ")" : "");
      report.verdicts.push_back(base);
    }
  }
}

}  // namespace

CheckReport check_expectations(const json& results, const json& descriptions) {
  CheckReport report;
  const json& trials = results.at("trials");
  // The file's order (the order the chapters ran in), then chapters it has no trials of.
  std::vector<std::string> order;
  for (const auto& t : trials) {
    const std::string c = t.value("chapter", "");
    if (descriptions.contains(c) && std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
  }
  for (const auto& [name, d] : descriptions.items()) {
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  for (const auto& chapter : order) {
    const json& description = descriptions[chapter];
    if (!description.contains("expectations") || description["expectations"].empty()) continue;
    std::vector<std::string> hosts;  // in first-seen order; "" when the file is not a merge
    std::map<std::string, std::vector<const json*>> by_host;
    for (const auto& t : trials) {
      if (t.value("chapter", "") != chapter) continue;
      const std::string h = t.value("host", "");
      if (!by_host.count(h)) hosts.push_back(h);
      by_host[h].push_back(&t);
    }
    if (hosts.empty()) report.not_run.push_back(chapter);
    const int cpus = results.value("context", json::object()).value("cpus", 0);
    for (const auto& h : hosts) check_chapter(report, chapter, description, by_host[h], h, cpus);
  }
  return report;
}

}  // namespace wb::runner
