#include "runners/commands.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include "common/record.hpp"
#include "runners/claims.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

std::string fit(std::string s, std::size_t width) {
  if (s.size() <= width) return s;
  return s.substr(0, width - 1) + "~";
}

std::string context_line(const json& doc) {
  const json c = doc.value("context", json::object());
  return c.value("host", "?") + ", " + std::to_string(c.value("cpus", 0)) + " cpus, git " + c.value("git", "?") + ", " +
         c.value("date", "?");
}

void write_json_or_stdout(const std::string& out, const json& doc) {
  if (out.empty() || out == "-") {
    std::cout << doc.dump(1) << '\n';
    return;
  }
  write_file_atomically(out, doc.dump(1) + "\n");
}

}  // namespace

json load_results(const std::string& path) {
  try {
    return read_results(path);
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
}

json descriptions_for(const json& doc, const json& current) {
  json descriptions = chapter_descriptions(doc);
  for (const auto& [name, desc] : current.items()) {
    const bool in_file = std::any_of(doc["trials"].begin(), doc["trials"].end(),
                                     [&](const json& t) { return t.value("chapter", "") == name; });
    if (in_file) descriptions[name] = desc;
  }
  return descriptions;
}

namespace {

json verdict_json(const Verdict& v) {
  json j{{"chapter", v.chapter}, {"host", v.host},     {"id", v.id},         {"kind", v.kind},     {"claim", v.claim},
         {"text", v.text},       {"why", v.why},       {"status", v.status}, {"point", v.point},   {"needs", v.needs},
         {"lhs", v.lhs},         {"rhs", v.rhs},       {"detail", v.detail}, {"n_lhs", v.n_lhs},   {"n_rhs", v.n_rhs}};
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
      if (std::isinf(v.margin)) std::snprintf(margin, sizeof margin, "inf");
      else std::snprintf(margin, sizeof margin, "%.2fx", v.margin);
    }
    const char* mark = v.status == "pass" ? "pass" : v.status == "fail" ? "FAIL" : v.status == "n/a" ? "n/a" : "MISSING";
    rows.push_back({v.host.empty() ? v.chapter : v.chapter + "@" + v.host, v.id, v.claim, fit(point_text(v, desc), 40), v.lhs, op,
                    v.rhs, margin, mark});
    (v.status == "pass" ? pass : v.status == "fail" ? fail : v.status == "n/a" ? not_applicable : missing)++;
  }
  std::size_t w[7] = {7, 9, 5, 5, 3, 3, 6};
  for (const auto& r : rows) {
    const std::string* cols[7] = {&r.chapter, &r.id, &r.claim, &r.point, &r.lhs, &r.rhs, &r.margin};
    for (int i = 0; i < 7; ++i) w[i] = std::max(w[i], cols[i]->size());
  }
  auto line = [&](const Row& r) {
    std::printf("%-*s  %-*s  %-*s  %-*s  %*s %-2s %-*s  %*s  %s\n", int(w[0]), r.chapter.c_str(), int(w[1]), r.id.c_str(),
                int(w[2]), r.claim.c_str(), int(w[3]), r.point.c_str(), int(w[4]), r.lhs.c_str(), r.op.c_str(), int(w[5]),
                r.rhs.c_str(), int(w[6]), r.margin.c_str(), r.mark.c_str());
  };
  std::printf("\n");
  line({"chapter", "invariant", "claim", "point", "lhs", "", "rhs", "margin", "verdict"});
  std::string last;
  for (auto r : rows) {
    if (r.chapter == last) r.chapter = "";
    else last = r.chapter;
    line(r);
  }
  bool headed = false;
  for (const auto& v : report.verdicts) {
    if (v.is_claim() || v.status == "pass") continue;
    if (!headed) std::printf("\n");
    headed = true;
    const char* mark = v.status == "fail" ? "FAIL" : v.status == "n/a" ? "n/a" : "MISSING";
    std::printf("%s %s/%s: %s\n    %s\n    %s\n", mark, v.chapter.c_str(), v.id.c_str(), v.text.c_str(), v.detail.c_str(),
                v.why.c_str());
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
    for (const auto& [status, n] : claim_counts) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    std::printf("claim declarations (never an exit code): %s; the ledger: workbench claims %s\n", counts.c_str(), path.c_str());
  }
  if (fail == 0 && missing == 0 && pass == 0) {
    std::printf("nothing was checked: the file has no trials of a chapter that declares invariants\n");
  }

  if (!json_out.empty()) {
    json verdicts = json::array();
    for (const auto& v : report.verdicts) verdicts.push_back(verdict_json(v));
    write_json_or_stdout(json_out, json{{"results", path},
                                        {"verdicts", verdicts},
                                        {"not_run", report.not_run},
                                        {"exit", report.exit_code()}});
  }
  std::fflush(stdout);
  return pass + fail + missing == 0 ? 3 : report.exit_code();
}

namespace {

std::string ratio_text(const json& e) {
  if (!e["ratio"].is_number()) return "";
  char buf[64];
  if (e["ratio_ci"].is_array()) {
    std::snprintf(buf, sizeof buf, "%.2fx [%.2f, %.2f]", e["ratio"].get<double>(), e["ratio_ci"][0].get<double>(),
                  e["ratio_ci"][1].get<double>());
  } else {
    std::snprintf(buf, sizeof buf, "%.2fx", e["ratio"].get<double>());
  }
  return buf;
}

void print_ledger(const json& ledger) {
  std::size_t wdecl = 11, wpoint = 5, wev = 8;
  for (const auto& c : ledger["claims"]) {
    for (const auto& ch : c["chapters"]) {
      for (const auto& e : ch["evidence"]) {
        wdecl = std::max(wdecl, e.value("declaration", "").size() + (e.value("kind", "") == "invariant" ? 4 : 0));
        wpoint = std::max(wpoint, std::min<std::size_t>(30, e.value("point", "").size()));
        wev = std::max(wev, std::min<std::size_t>(40, e.value("lhs", "").size() + e.value("rhs", "").size() + 4));
      }
    }
  }
  std::printf("\n%-4s %-14s %s\n", "id", "verdict", "claim (sections of the source analysis)");
  for (const auto& c : ledger["claims"]) {
    std::string sections;
    for (const auto& s : c["sections"]) sections += (sections.empty() ? "§" : ", §") + s.get<std::string>();
    const std::string verdict = c.value("verdict", "");
    std::printf("%-4s %-14s %s (%s)\n", c.value("id", "").c_str(), verdict == "does not hold" ? "DOES NOT HOLD" : verdict.c_str(),
                c.value("statement", "").c_str(), sections.c_str());
    if (c["chapters"].empty()) {
      std::printf("     %-14s no chapter measures it yet; to decide: %s\n", "", c.value("to_decide", "").c_str());
      continue;
    }
    for (const auto& ch : c["chapters"]) {
      const std::string host = ledger.value("host", "") == ch.value("host", "") ? "" : "@" + ch.value("host", "");
      bool first = true;
      for (const auto& e : ch["evidence"]) {
        const std::string decl = e.value("declaration", "") + (e.value("kind", "") == "invariant" ? " [i]" : "");
        const std::string ev = e.value("lhs", "").empty()
                                   ? e.value("detail", "")
                                   : e.value("lhs", "") + " " + e.value("op", "") + " " + e.value("rhs", "");
        std::string v = e.value("verdict", "");
        if (v.empty()) v = e.value("status", "");  // missing, n/a
        char n[32] = "";
        if (e.value("n_rhs", 0) > 0) std::snprintf(n, sizeof n, "n %d/%d", e.value("n_lhs", 0), e.value("n_rhs", 0));
        else if (e.value("n_lhs", 0) > 0) std::snprintf(n, sizeof n, "n %d", e.value("n_lhs", 0));
        std::printf("     %-14s %-*s %-*s %-*s %-*s %-22s %s\n", first ? (ch.value("chapter", "") + host).c_str() : "",
                    13, v.c_str(), int(wdecl), decl.c_str(), int(wpoint), fit(e.value("point", ""), 30).c_str(), int(wev),
                    fit(ev, 40).c_str(), ratio_text(e).c_str(), n);
        first = false;
      }
    }
  }
  std::string counts;
  for (const char* k : {"holds", "does not hold", "inconclusive", "mixed", "not measured"}) {
    const int n = ledger["summary"].value(k, 0);
    if (n) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + k;
  }
  std::printf("\n%zu claims: %s\n", ledger["claims"].size(), counts.c_str());
  std::printf("([i]: an invariant that supports the claim; ratio: lhs / rhs of the medians with its 95%% bootstrap\n"
              " interval; n: successful repetitions of each side.  A verdict is this machine's, never a failure.)\n");
}

}  // namespace

int cmd_claims(const std::string& path, const json& current, const std::string& catalog_path, const std::string& json_out,
               const std::string& baseline, bool fail_on_change) {
  const auto catalog = load_claim_catalog(catalog_path);
  const auto ledger_of = [&](const json& doc) {
    const json descriptions = descriptions_for(doc, current);
    return build_ledger(check_expectations(doc, descriptions), catalog, doc, descriptions);
  };
  const json doc = load_results(path);
  const json ledger = ledger_of(doc);
  std::printf("workbench claims %s\n  run: %s\n", path.c_str(), context_line(doc).c_str());
  print_ledger(ledger);
  json out{{"results", path}, {"ledger", ledger}};
  int code = 0;
  if (!baseline.empty()) {
    const json old_doc = load_results(baseline);
    const json changes = ledger_changes(ledger_of(old_doc), ledger);
    std::printf("\nagainst %s (%s):\n", baseline.c_str(), context_line(old_doc).c_str());
    int flips_same_host = 0;
    for (const auto& c : changes) {
      const bool same = c["same_host"].get<bool>();
      const bool flip = c["flip"].get<bool>();
      if (same && flip) ++flips_same_host;
      const char* what = !flip ? "changed (to or from inconclusive: not a flip)"
                         : same ? "FLIPPED on the same host: a regression or a change of behaviour"
                                : "differs on another host: information, not a regression";
      std::printf("  %-4s %-14s %s %s: %s -> %s  %s\n", c.value("claim", "").c_str(), c.value("chapter", "").c_str(),
                  c.value("declaration", "").c_str(), c.value("point", "").c_str(), c.value("old", "").c_str(),
                  c.value("new", "").c_str(), what);
    }
    if (changes.empty()) std::printf("  no verdict changed\n");
    std::printf("%zu changed, %d flipped on the same host\n", changes.size(), flips_same_host);
    out["baseline"] = baseline;
    out["changes"] = changes;
    if (fail_on_change && flips_same_host > 0) code = 1;
  }
  if (!json_out.empty()) write_json_or_stdout(json_out, out);
  std::fflush(stdout);
  return code;
}

int cmd_claims_catalog(const std::string& catalog_path, const json& current) {
  std::printf("%s", catalog_markdown(load_claim_catalog(catalog_path), current).c_str());
  return 0;
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
  std::printf("\n%-12s %-5s %-24s %-16s %11s %11s %8s %-22s %s\n", "chapter", "var", "point", "metric", "old", "new",
              "change", "test", "verdict");
  int shown = 0;
  for (const auto& c : report.changes) {
    if (changed_only && c.verdict == "same") continue;
    std::string point = point_name(c.params, chapters.value(c.chapter, json()));
    if (point.empty()) point = "defaults";
    char change[16], test[40];
    if (std::isfinite(c.change)) std::snprintf(change, sizeof change, "%+.1f%%", c.change * 100);
    else std::snprintf(change, sizeof change, "new");
    if (c.test == "U") std::snprintf(test, sizeof test, "U p=%.3f", c.p);
    else std::snprintf(test, sizeof test, "boot [%+.0f%%,%+.0f%%]", c.ci_low * 100, c.ci_high * 100);
    const std::string verdict = c.verdict == "worse" ? "WORSE" : c.verdict;
    std::printf("%-12s %-5s %-24s %-16s %11s %11s %8s %-22s %s\n", fit(c.chapter, 12).c_str(), c.variant.c_str(),
                fit(point, 24).c_str(), fit(c.metric, 16).c_str(), format_metric(c.metric, c.old_median).c_str(),
                format_metric(c.metric, c.new_median).c_str(), change, test, verdict.c_str());
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

int cmd_export(const std::string& path, const std::string& format, const std::string& out) {
  if (format != "gbench") throw UsageError("unknown export format \"" + format + "\" (known: gbench)");
  write_json_or_stdout(out, export_gbench(load_results(path)));
  return 0;
}

int cmd_merge(const std::vector<std::string>& paths, const std::string& out) {
  std::vector<json> docs;
  for (const auto& p : paths) docs.push_back(load_results(p));
  const json merged = merge_results(docs, paths);
  write_json_or_stdout(out, merged);
  std::fprintf(stderr, "workbench: merged %zu files, %zu trials -> %s\n", paths.size(), merged["trials"].size(),
               out.empty() ? "stdout" : out.c_str());
  return 0;
}

}  // namespace wb::runner
