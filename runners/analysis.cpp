#include "runners/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>
#include <stdexcept>

#include "common/record.hpp"
#include "common/work.hpp"
#include "runners/plan.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

const json* find_path(const json& j, const std::string& a, const std::string& b = "") {
  if (!j.is_object() || !j.contains(a)) return nullptr;
  const json* v = &j[a];
  if (b.empty()) return v;
  if (!v->is_object() || !v->contains(b)) return nullptr;
  return &(*v)[b];
}

std::optional<double> as_number(const json* v) {
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

}  // namespace

std::optional<double> metric_number(const json& trial, const std::string& name) {
  const json* m = find_path(trial, "metrics");
  if (name == "cpu_s") {
    const auto u = as_number(m ? find_path(*m, "cpu_user_s") : nullptr);
    const auto s = as_number(m ? find_path(*m, "cpu_sys_s") : nullptr);
    if (!u || !s) return std::nullopt;
    return *u + *s;
  }
  std::string latency_key;
  if (name.rfind("latency_us.", 0) == 0) latency_key = name.substr(11);
  else if (name.size() > 3 && name.compare(name.size() - 3, 3, "_us") == 0 && name.rfind("latency", 0) != 0) {
    latency_key = name.substr(0, name.size() - 3);  // "p99_us" -> "p99"
  }
  if (!latency_key.empty() && m) {
    if (const auto v = as_number(find_path(*m, "latency_us", latency_key))) return v;
  }
  if (m) {
    if (const auto v = as_number(find_path(*m, name))) return v;
  }
  const std::string counter = name.rfind("counters.", 0) == 0 ? name.substr(9) : name;
  return as_number(find_path(trial, "counters", counter));
}

std::optional<std::string> metric_text(const json& trial, const std::string& name) {
  const json* v = nullptr;
  if (name.rfind("info.", 0) == 0) v = find_path(trial, "info", name.substr(5));
  else v = find_path(trial, name);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::string format_metric(const std::string& metric, double v) {
  if (metric == "wall_s" || metric == "cpu_s" || metric == "cpu_user_s" || metric == "cpu_sys_s") return human_seconds(v);
  if (metric.rfind("latency_us.", 0) == 0) return human_seconds(v / 1e6);
  if (metric.size() > 3 && metric.compare(metric.size() - 3, 3, "_ms") == 0) return human_seconds(v / 1e3);
  if (metric.find("kib") != std::string::npos) return human_kib(v);
  return human_number(v);
}

int better_direction(const std::string& metric) {
  if (metric == "throughput_ops_s") return +1;
  static const std::set<std::string> lower = {"wall_s", "cpu_s", "cpu_user_s", "cpu_sys_s", "peak_rss_kib",
                                              "peak_threads", "ctx_voluntary", "ctx_involuntary"};
  if (lower.count(metric) || metric.rfind("latency_us.", 0) == 0) return -1;
  return 0;
}

std::string point_name(const json& params, const json& description, const char* sep, const char* eq) {
  std::map<std::string, json> defaults;
  if (description.is_object() && description.contains("options")) {
    for (const auto& o : description["options"]) {
      if (o.contains("param") && o.contains("default")) defaults[o["param"].get<std::string>()] = o["default"];
    }
  }
  std::string out;
  for (const auto& [k, v] : params.items()) {
    const auto d = defaults.find(k);
    if (d != defaults.end() && d->second == v) continue;
    out += (out.empty() ? "" : sep) + k + eq + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

json chapter_descriptions(const json& results) {
  json out = results.value("chapters", json::object());
  std::map<std::string, json> shared;  // chapter -> the params every trial of it has alike
  for (const auto& t : results.value("trials", json::array())) {
    const std::string c = t.value("chapter", "");
    if (out.contains(c)) continue;
    const json p = t.value("params", json::object());
    auto it = shared.find(c);
    if (it == shared.end()) {
      shared[c] = p;
      continue;
    }
    json kept = json::object();
    for (const auto& [k, v] : it->second.items()) {
      if (p.contains(k) && p[k] == v) kept[k] = v;
    }
    it->second = kept;
  }
  for (const auto& [c, params] : shared) {
    json options = json::array();
    for (const auto& [k, v] : params.items()) options.push_back({{"param", k}, {"default", v}});
    out[c] = {{"name", c}, {"options", options}};
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// check

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
  if (dot == std::string::npos) throw std::invalid_argument("expectation side \"" + text + "\" is neither a number nor variant.metric");
  s.variant = text.substr(0, dot);
  s.metric = text.substr(dot + 1);
  return s;
}

// The trials of one variant at exactly these parameters.
std::vector<const json*> trials_at(const std::vector<const json*>& chapter_trials, const std::string& variant, const json& params) {
  std::vector<const json*> out;
  for (const auto* t : chapter_trials) {
    if (t->value("variant", "") == variant && t->value("params", json::object()) == params) out.push_back(t);
  }
  return out;
}

std::vector<const json*> ok_only(const std::vector<const json*>& trials) {
  std::vector<const json*> out;
  for (const auto* t : trials) {
    if (t->value("status", "") == "ok") out.push_back(t);
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

// The medians of `resamples` bootstrap resamples of a and of b (each resampled on its own),
// from a fixed seed so the same data always gives the same answer.
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

// The central `confidence` share of xs (sorted in place): its percentile interval.
std::pair<double, double> central_interval(std::vector<double>& xs, double confidence) {
  std::sort(xs.begin(), xs.end());
  const double tail = (1.0 - confidence) / 2.0;
  const auto at = [&](double q) {
    const auto idx = static_cast<std::size_t>(std::clamp(q * static_cast<double>(xs.size()), 0.0, static_cast<double>(xs.size() - 1)));
    return xs[idx];
  };
  return {at(tail), at(1.0 - tail)};
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

// A claim's verdict from the spread of its repetitions: resample each side (fixed seed, so a
// file always gets the same verdict), and ask of each resample whether median(lhs) op
// factor * median(rhs).  Holds when the central 95 % of resamples all say yes, does not hold
// when they all say no.  The same resamples give the interval of lhs / rhs.
void judge_claim(Verdict& v, const std::string& op, double factor, const std::vector<double>& ls,
                 const std::vector<double>& rs, bool constant) {
  v.n_lhs = ls.size();
  v.n_rhs = constant ? 0 : rs.size();
  const double r_median = median(rs);
  if (r_median != 0) v.ratio = v.lhs_median / r_median;
  if (ls.size() < 2 || (!constant && rs.size() < 2)) {
    v.status = "inconclusive";
    v.detail += "; a single repetition has no spread: run --repeat 3 or more for a verdict";
    return;
  }
  std::vector<double> slack, ratios;  // lhs - factor * rhs, lhs / rhs
  for (const auto& [ml, mr] : resampled_medians(ls, rs, 2000, 0xc1a1)) {
    slack.push_back(ml - factor * mr);
    if (mr != 0) ratios.push_back(ml / mr);
  }
  const auto [low, high] = central_interval(slack, 0.95);
  if (ratios.size() == slack.size()) std::tie(v.ratio_low, v.ratio_high) = central_interval(ratios, 0.95);
  const bool upper = op[0] == '<';
  const bool strict = op.size() == 1;
  const auto inside = [&](double s) { return upper ? (strict ? s < 0 : s <= 0) : (strict ? s > 0 : s >= 0); };
  if (inside(low) && inside(high)) v.status = "holds";
  else if (!inside(low) && !inside(high)) v.status = "does not hold";
  else v.status = "inconclusive";
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
  if (lhs_ok.empty() || (!constant && rhs_ok.empty())) {
    v.status = "missing";
    v.detail = "no successful trial on a side (" + v.detail + ")";
    return v;
  }
  const auto pass_or = [&](bool ok) { return v.is_claim() ? (ok ? "holds" : "does not hold") : (ok ? "pass" : "fail"); };

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
  const auto rs = constant ? std::optional<std::vector<double>>(std::vector<double>{rhs.constant}) : values_of(rhs_ok, rhs.metric);
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
  v.margin = margin_of(l, op, bound);
  if (v.is_claim()) {
    judge_claim(v, op, factor, *ls, *rs, constant);
  } else {
    v.n_lhs = ls->size();
    v.n_rhs = constant ? 0 : rs->size();
    if (r != 0) v.ratio = l / r;
    v.status = pass_or(compare_op(l, op, bound));
  }
  return v;
}

}  // namespace

namespace {

void check_chapter(CheckReport& report, const std::string& chapter, const json& description,
                   const std::vector<const json*>& chapter_trials, const std::string& host) {
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
      ts.erase(std::remove_if(ts.begin(), ts.end(), [&](const json* t) { return !info_matches(*t, only_if); }), ts.end());
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
      const auto rhs_all =
          rhs.variant.empty() ? std::vector<const json*>{} : applicable(trials_at(chapter_trials, rhs.variant, rhs_params));
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
    for (const auto& h : hosts) check_chapter(report, chapter, description, by_host[h], h);
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// statistics

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

std::pair<double, double> bootstrap_change_ci(const std::vector<double>& a, const std::vector<double>& b, double confidence,
                                              int resamples, std::uint64_t seed) {
  if (a.empty() || b.empty()) return {0, 0};
  std::vector<double> changes;
  changes.reserve(static_cast<std::size_t>(resamples));
  for (const auto& [ma, mb] : resampled_medians(a, b, resamples, seed)) {
    changes.push_back(ma != 0 ? mb / ma - 1.0 : (mb == 0 ? 0.0 : INFINITY));
  }
  return central_interval(changes, confidence);
}

// ---------------------------------------------------------------------------------------------
// compare

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
    if (it == out.end()) out.push_back({k, {&t}});
    else it->second.push_back(&t);
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
      report.unmatched.push_back(key_text(key, new_doc) + ": no successful trial in " + (old_ok.empty() ? "OLD" : "NEW"));
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
      if (!c.beyond_noise) c.verdict = "same";
      else if (dir == 0) c.verdict = "changed";
      else c.verdict = (c.change > 0) == (dir > 0) ? "better" : "worse";
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
    json j{{"chapter", c.chapter},   {"variant", c.variant},       {"params", c.params},
           {"metric", c.metric},     {"old", c.old_values},        {"new", c.new_values},
           {"old_median", c.old_median}, {"new_median", c.new_median}, {"test", c.test},
           {"beyond_noise", c.beyond_noise}, {"verdict", c.verdict}};
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

// ---------------------------------------------------------------------------------------------
// export and merge

json export_gbench(const json& results) {
  const json& ctx = results.value("context", json::object());
  json context{{"date", ctx.value("date", "")},
               {"host_name", ctx.value("host", "")},
               {"executable", "workbench"},
               {"num_cpus", ctx.value("cpus", 0)},
               {"mhz_per_cpu", 0},
               {"cpu_scaling_enabled", false},
               {"caches", json::array()},
               {"load_avg", json::array()},
               {"library_build_type", ctx.value("build_type", "") == "release" ? "release" : "debug"},
               {"workbench", ctx}};
  const json chapters = chapter_descriptions(results);
  json benchmarks = json::array();
  std::vector<std::string> names;
  std::map<std::string, std::vector<const json*>> by_name;
  for (const auto& t : results.at("trials")) {
    const std::string chapter = t.value("chapter", "");
    const auto p = point_name(t.value("params", json::object()), chapters.value(chapter, json()), "/", ":");
    const std::string name = chapter + "/" + t.value("variant", "") + (p.empty() ? "" : "/" + p);
    if (!by_name.count(name)) names.push_back(name);
    by_name[name].push_back(&t);
  }
  for (std::size_t family = 0; family < names.size(); ++family) {
    const auto& name = names[family];
    const auto& ts = by_name[name];
    std::vector<json> ok;
    for (std::size_t i = 0; i < ts.size(); ++i) {
      const json& t = *ts[i];
      json b{{"name", name},
             {"family_index", family},
             {"per_family_instance_index", 0},
             {"run_name", name},
             {"run_type", "iteration"},
             {"repetitions", ts.size()},
             {"repetition_index", i},
             {"threads", 1},
             {"iterations", 1},
             {"time_unit", "ms"}};
      if (t.value("status", "") != "ok") {
        b["error_occurred"] = true;
        b["error_message"] = t.value("status", "") + ": " + t.value("reason", "");
        b["real_time"] = 0;
        b["cpu_time"] = 0;
      } else {
        b["real_time"] = metric_number(t, "wall_s").value_or(0) * 1e3;
        b["cpu_time"] = metric_number(t, "cpu_s").value_or(0) * 1e3;
        b["items_per_second"] = metric_number(t, "throughput_ops_s").value_or(0);
        b["p50_us"] = metric_number(t, "latency_us.p50").value_or(0);
        b["p99_us"] = metric_number(t, "latency_us.p99").value_or(0);
        b["peak_rss_kib"] = metric_number(t, "peak_rss_kib").value_or(0);
        b["peak_threads"] = metric_number(t, "peak_threads").value_or(0);
        ok.push_back(b);
      }
      benchmarks.push_back(std::move(b));
    }
    if (ok.size() < 2) continue;
    for (const char* agg : {"mean", "median", "stddev"}) {
      json a = ok.front();
      a.erase("repetition_index");
      a["name"] = name + "_" + agg;
      a["run_type"] = "aggregate";
      a["aggregate_name"] = agg;
      a["aggregate_unit"] = "time";
      a["repetitions"] = ok.size();
      for (const char* field : {"real_time", "cpu_time", "items_per_second", "p50_us", "p99_us", "peak_rss_kib", "peak_threads"}) {
        std::vector<double> xs;
        for (const auto& b : ok) xs.push_back(b[field].get<double>());
        const double mean = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
        double var = 0;
        for (double x : xs) var += (x - mean) * (x - mean);
        const double stddev = std::sqrt(var / static_cast<double>(xs.size() - 1));
        a[field] = std::string(agg) == "mean" ? mean : std::string(agg) == "median" ? median(xs) : stddev;
      }
      benchmarks.push_back(std::move(a));
    }
  }
  return json{{"context", context}, {"benchmarks", benchmarks}};
}

json merge_results(const std::vector<json>& docs, const std::vector<std::string>& names) {
  if (docs.empty()) throw std::invalid_argument("nothing to merge");
  json sources = json::array();
  json trials = json::array();
  json chapters = json::object();
  std::vector<std::string> hosts;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const json& d = docs[i];
    const std::size_t offset = sources.size();
    if (d.contains("sources") && d["sources"].is_array() && !d["sources"].empty()) {
      for (const auto& s : d["sources"]) sources.push_back(s);  // a merged file merged again
    } else {
      json s = d.value("context", json::object());
      s["file"] = i < names.size() ? names[i] : "";
      sources.push_back(std::move(s));
    }
    const std::string host = d.value("context", json::object()).value("host", "unknown");
    for (auto t : d.at("trials")) {
      if (!t.contains("host")) t["host"] = host;
      t["source"] = offset + t.value("source", std::size_t{0});
      const auto h = t["host"].get<std::string>();
      if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
      trials.push_back(std::move(t));
    }
    const json described = d.value("chapters", json::object());
    for (const auto& [name, desc] : described.items()) {
      if (!chapters.contains(name)) chapters[name] = desc;
    }
  }
  json context = docs.front().value("context", json::object());
  std::string host_list;
  for (const auto& h : hosts) host_list += (host_list.empty() ? "" : ", ") + h;
  context["host"] = hosts.size() == 1 ? hosts.front() : "merged: " + host_list;
  context["merged_files"] = docs.size();
  json out = json{{"schema", docs.front().value("schema", "")}, {"context", context}, {"trials", trials}, {"sources", sources}};
  if (!chapters.empty()) out["chapters"] = chapters;
  return out;
}

}  // namespace wb::runner
