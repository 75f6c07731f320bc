#include "runners/check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
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
  if (inside(low) && inside(high))
    v.status = "holds";
  else if (!inside(low) && !inside(high))
    v.status = "does not hold";
  else
    v.status = "inconclusive";
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
    for (const auto& h : hosts) check_chapter(report, chapter, description, by_host[h], h);
  }
  return report;
}

namespace {

json verdict_json(const Verdict& v) {
  json j{{"chapter", v.chapter}, {"host", v.host}, {"id", v.id},         {"kind", v.kind},   {"claim", v.claim},
         {"text", v.text},       {"why", v.why},   {"status", v.status}, {"point", v.point}, {"needs", v.needs},
         {"lhs", v.lhs},         {"rhs", v.rhs},   {"detail", v.detail}, {"n_lhs", v.n_lhs}, {"n_rhs", v.n_rhs}};
  j["margin"] = std::isfinite(v.margin) ? json(v.margin) : json(nullptr);
  return j;
}

std::string point_text(const Verdict& v, const json& desc) {
  std::string point = v.needs.is_object() ? "needs " + point_name(v.needs, json()) : point_name(v.point, desc);
  return point.empty() ? "defaults" : point;
}

}  // namespace

int cmd_check(const std::string& path, const json& current, const std::string& json_out) {
  const json doc = load_results(path);
  const json descriptions = descriptions_for(doc, current);
  const auto report = check_expectations(doc, descriptions);

  std::printf("workbench check %s\n  run: %s\n", path.c_str(), context_line(doc).c_str());
  if (descriptions.empty()) {
    std::printf("  no chapter descriptions: the file carries none and the build knows none of its chapters\n");
  }
  std::printf("  invariants: what must hold on any machine (a claim's verdict is `workbench claims`' business)\n");
  struct Row {
    std::string chapter, id, claim, point, lhs, op, rhs, margin, mark;
  };
  std::vector<Row> rows;
  int pass = 0, fail = 0, missing = 0, not_applicable = 0;
  std::map<std::string, int> claim_counts;
  for (const auto& v : report.verdicts) {
    if (v.is_claim()) {
      ++claim_counts[v.status];
      continue;
    }
    const json desc = descriptions.value(v.chapter, json());
    std::string op;
    for (const auto& e : desc.value("expectations", json::array())) {
      if (e.value("id", "") == v.id) op = e.value("op", "");
    }
    char margin[16] = "";
    if (v.status != "missing" && v.margin > 0 && op != "==") {
      if (std::isinf(v.margin))
        std::snprintf(margin, sizeof margin, "inf");
      else
        std::snprintf(margin, sizeof margin, "%.2fx", v.margin);
    }
    const char* mark = v.status == "pass"   ? "pass"
                       : v.status == "fail" ? "FAIL"
                       : v.status == "n/a"  ? "n/a"
                                            : "MISSING";
    rows.push_back({v.host.empty() ? v.chapter : v.chapter + "@" + v.host, v.id, v.claim, fit(point_text(v, desc), 40),
                    v.lhs, op, v.rhs, margin, mark});
    (v.status == "pass" ? pass : v.status == "fail" ? fail : v.status == "n/a" ? not_applicable : missing)++;
  }
  std::size_t w[7] = {7, 9, 5, 5, 3, 3, 6};
  for (const auto& r : rows) {
    const std::string* cols[7] = {&r.chapter, &r.id, &r.claim, &r.point, &r.lhs, &r.rhs, &r.margin};
    for (int i = 0; i < 7; ++i) w[i] = std::max(w[i], cols[i]->size());
  }
  auto line = [&](const Row& r) {
    std::printf("%-*s  %-*s  %-*s  %-*s  %*s %-2s %-*s  %*s  %s\n", int(w[0]), r.chapter.c_str(), int(w[1]),
                r.id.c_str(), int(w[2]), r.claim.c_str(), int(w[3]), r.point.c_str(), int(w[4]), r.lhs.c_str(),
                r.op.c_str(), int(w[5]), r.rhs.c_str(), int(w[6]), r.margin.c_str(), r.mark.c_str());
  };
  std::printf("\n");
  line({"chapter", "invariant", "claim", "point", "lhs", "", "rhs", "margin", "verdict"});
  std::string last;
  for (auto r : rows) {
    if (r.chapter == last)
      r.chapter = "";
    else
      last = r.chapter;
    line(r);
  }
  bool headed = false;
  for (const auto& v : report.verdicts) {
    if (v.is_claim() || v.status == "pass") continue;
    if (!headed) std::printf("\n");
    headed = true;
    const char* mark = v.status == "fail" ? "FAIL" : v.status == "n/a" ? "n/a" : "MISSING";
    std::printf("%s %s/%s: %s\n    %s\n    %s\n", mark, v.chapter.c_str(), v.id.c_str(), v.text.c_str(),
                v.detail.c_str(), v.why.c_str());
  }
  if (!report.not_run.empty()) {
    std::string names;
    for (const auto& n : report.not_run) names += " " + n;
    std::printf("\nnot in this file (not checked):%s\n", names.c_str());
  }
  std::printf("\n%d pass, %d fail, %d missing", pass, fail, missing);
  if (not_applicable) std::printf(", %d not applicable here", not_applicable);
  std::printf("\n");
  if (!claim_counts.empty()) {
    std::string counts;
    for (const auto& [status, n] : claim_counts)
      counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    std::printf("claim declarations (never an exit code): %s; the ledger: workbench claims %s\n", counts.c_str(),
                path.c_str());
  }
  if (fail == 0 && missing == 0 && pass == 0) {
    std::printf("nothing was checked: the file has no trials of a chapter that declares invariants\n");
  }

  if (!json_out.empty()) {
    json verdicts = json::array();
    for (const auto& v : report.verdicts) verdicts.push_back(verdict_json(v));
    write_json_or_stdout(
        json_out,
        json{{"results", path}, {"verdicts", verdicts}, {"not_run", report.not_run}, {"exit", report.exit_code()}});
  }
  std::fflush(stdout);
  return pass + fail + missing == 0 ? 3 : report.exit_code();
}

}  // namespace wb::runner
