// `workbench check FILE`: check_expectations (check.cpp) on a results file, printed as a table
// of the invariants with a tally of the claims' declarations, and written as JSON on request.
#include <cmath>
#include <cstdio>
#include <map>

#include "common/format.hpp"
#include "runners/check.hpp"
#include "runners/metrics.hpp"
#include "runners/plan.hpp"
#include "runners/results_files.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

json verdict_json(const Verdict& v) {
  json j{{"chapter", v.chapter}, {"host", v.host}, {"id", v.id},         {"kind", v.kind},   {"claim", v.claim},
         {"text", v.text},       {"why", v.why},   {"status", v.status}, {"point", v.point}, {"needs", v.needs},
         {"lhs", v.lhs},         {"rhs", v.rhs},   {"detail", v.detail}, {"n_lhs", v.n_lhs}, {"n_rhs", v.n_rhs}};
  j["margin"] = std::isfinite(v.margin) ? json(v.margin) : json(nullptr);
  if (!v.by_construction.empty()) j["by_construction"] = v.by_construction;
  if (!v.context.empty()) j["context"] = v.context;
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
  // Column widths: chapter, invariant, claim, point, lhs, rhs, margin.
  std::size_t width[7] = {7, 9, 5, 5, 3, 3, 6};
  for (const auto& r : rows) {
    const std::string* cols[7] = {&r.chapter, &r.id, &r.claim, &r.point, &r.lhs, &r.rhs, &r.margin};
    for (int i = 0; i < 7; ++i) width[i] = std::max(width[i], cols[i]->size());
  }
  auto line = [&](const Row& r) {
    std::printf("%-*s  %-*s  %-*s  %-*s  %*s %-2s %-*s  %*s  %s\n", int(width[0]), r.chapter.c_str(), int(width[1]),
                r.id.c_str(), int(width[2]), r.claim.c_str(), int(width[3]), r.point.c_str(), int(width[4]),
                r.lhs.c_str(), r.op.c_str(), int(width[5]), r.rhs.c_str(), int(width[6]), r.margin.c_str(),
                r.mark.c_str());
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
  std::printf("\ninvariants (must hold on any machine; they set the exit code): %d pass, %d fail, %d missing", pass,
              fail, missing);
  if (not_applicable) std::printf(", %d not applicable here", not_applicable);
  std::printf("\n");
  if (!claim_counts.empty()) {
    std::string counts;
    for (const auto& [status, n] : claim_counts)
      counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    std::printf(
        "claim tests (the chapters' comparisons the claims' verdicts combine; never an exit code): %s; the verdicts: "
        "workbench claims %s\n",
        counts.c_str(), path.c_str());
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
