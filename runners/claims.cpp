#include "runners/claims.hpp"

#include <algorithm>
#include <cmath>
#include <compare>
#include <map>
#include <stdexcept>

#include "common/files.hpp"
#include "runners/metrics.hpp"
#include "runners/results_files.hpp"

namespace wb::runner {

using nlohmann::json;

std::vector<ClaimInfo> load_claim_catalog(const std::string& path) {
  json doc;
  try {
    doc = json::parse(wb::read_text_file(path));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read the claims catalog " + path + ": " + e.what());
  }
  std::vector<ClaimInfo> out;
  for (const auto& c : doc.value("claims", json::array())) {
    out.push_back({c.value("id", ""), c.value("sections", std::vector<std::string>{}), c.value("statement", ""),
                   c.value("to_decide", "")});
  }
  if (out.empty()) throw std::runtime_error("the claims catalog " + path + " lists no claims");
  return out;
}

std::string claim_verdict_of(const Verdict& v) {
  if (!v.by_construction.empty() || !v.context.empty()) return "";  // a test, or context: not evidence
  if (v.status == "pass") return "holds";
  if (v.status == "fail") return "does not hold";
  if (v.status == "holds" || v.status == "does not hold" || v.status == "inconclusive") return v.status;
  return "";
}

std::string combine_verdicts(const std::vector<std::string>& verdicts) {
  bool holds = false, fails = false, inconclusive = false, mixed = false;
  for (const auto& v : verdicts) {
    holds |= v == "holds";
    fails |= v == "does not hold";
    inconclusive |= v == "inconclusive";
    mixed |= v == "mixed";  // a chapter's own verdict, combined again across chapters
  }
  if (mixed || (holds && fails)) return "mixed";
  if (holds) return "holds";
  if (fails) return "does not hold";
  return inconclusive ? "inconclusive" : "not measured";
}

namespace {

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

json evidence_of(const Verdict& v, const std::string& host, const json& descriptions) {
  std::string point = point_name(v.point.is_object() ? v.point : json::object(), descriptions.value(v.chapter, json()));
  if (v.needs.is_object()) point = "needs " + point_name(v.needs, json());
  return {{"declaration", v.id},
          {"kind", v.kind},
          {"point", point.empty() ? "defaults" : point},
          {"params", v.point},
          {"host", host},
          {"verdict", claim_verdict_of(v)},
          {"status", v.status},
          {"text", v.text},
          {"why", v.why},
          {"lhs", v.lhs},
          {"op", v.op},
          {"rhs", v.rhs},
          {"lhs_median", number_or_null(v.lhs_median)},
          {"rhs_median", number_or_null(v.rhs_median)},
          {"ratio", number_or_null(v.ratio)},
          {"ratio_ci", std::isfinite(v.ratio_low) ? json{v.ratio_low, v.ratio_high} : json(nullptr)},
          {"ratio_ci_coverage", number_or_null(v.coverage)},
          {"p_value", number_or_null(v.p_value)},
          {"by_construction", v.by_construction},
          {"context", v.context},
          {"n_lhs", v.n_lhs},
          {"n_rhs", v.n_rhs},
          {"detail", v.detail}};
}

}  // namespace

json build_ledger(const CheckReport& report, const std::vector<ClaimInfo>& catalog, const json& results,
                  const json& descriptions) {
  const std::string file_host = results.value("context", json::object()).value("host", "");
  json claims = json::array();
  std::map<std::string, int> summary;
  for (const auto& info : catalog) {
    // (chapter, host) in the order the report has them.
    std::vector<std::pair<std::string, std::string>> keys;
    std::map<std::pair<std::string, std::string>, json> evidence;
    for (const auto& v : report.verdicts) {
      if (v.claim != info.id) continue;
      const std::string host = v.host.empty() ? file_host : v.host;
      const auto key = std::pair{v.chapter, host};
      if (!evidence.count(key)) {
        keys.push_back(key);
        evidence[key] = json::array();
      }
      evidence[key].push_back(evidence_of(v, host, descriptions));
    }
    json chapters = json::array();
    std::vector<std::string> all;
    std::map<std::string, int> counts;
    bool measured = false;  // a counted row compares the claim itself (kind "claim")
    for (const auto& key : keys) {
      std::vector<std::string> vs;
      for (const auto& e : evidence[key]) {
        vs.push_back(e["verdict"].get<std::string>());
        if (!vs.back().empty()) ++counts[vs.back()];
        measured |= !vs.back().empty() && e.value("kind", "") == "claim";
      }
      const std::string verdict = combine_verdicts(vs);
      if (verdict != "not measured") all.push_back(verdict);
      chapters.push_back(
          {{"chapter", key.first}, {"host", key.second}, {"verdict", verdict}, {"evidence", evidence[key]}});
    }
    const std::string verdict = combine_verdicts(all);
    ++summary[verdict];
    // What the verdict rests on: a measured comparison of the claim, or only invariants — checks
    // that gate CI and must hold on any machine, so such a verdict can never come out inconclusive.
    const std::string basis = verdict == "not measured" ? "" : measured ? "measured" : "invariants";
    claims.push_back({{"id", info.id},
                      {"sections", info.sections},
                      {"statement", info.statement},
                      {"to_decide", info.to_decide},
                      {"verdict", verdict},
                      {"basis", basis},
                      {"counts", counts},
                      {"chapters", chapters}});
  }
  return {{"host", file_host}, {"claims", claims}, {"summary", summary}};
}

json ledger_changes(const json& old_ledger, const json& new_ledger) {
  // One row of evidence: which claim, chapter, declaration and point it is.
  struct Key {
    std::string claim, chapter, declaration, point;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    std::string verdict, host;
  };
  const auto index = [](const json& ledger) {
    std::map<Key, Entry> out;
    for (const auto& c : ledger.value("claims", json::array())) {
      for (const auto& chapter : c.value("chapters", json::array())) {
        for (const auto& e : chapter.value("evidence", json::array())) {
          const Key key{c.value("id", ""), chapter.value("chapter", ""), e.value("declaration", ""),
                        e.value("point", "")};
          out[key] = {e.value("verdict", ""), e.value("host", "")};
        }
      }
    }
    return out;
  };
  const auto olds = index(old_ledger);
  const auto news = index(new_ledger);
  json changes = json::array();
  for (const auto& [key, n] : news) {
    const auto o = olds.find(key);
    if (o == olds.end() || o->second.verdict == n.verdict || o->second.verdict.empty() || n.verdict.empty()) continue;
    const bool decided_both = o->second.verdict != "inconclusive" && n.verdict != "inconclusive";
    changes.push_back({{"claim", key.claim},
                       {"chapter", key.chapter},
                       {"declaration", key.declaration},
                       {"point", key.point},
                       {"old", o->second.verdict},
                       {"new", n.verdict},
                       {"old_host", o->second.host},
                       {"new_host", n.host},
                       {"same_host", o->second.host == n.host},
                       {"flip", decided_both}});
  }
  return changes;
}

std::string catalog_markdown(const std::vector<ClaimInfo>& catalog, const json& descriptions) {
  // claim -> chapters whose declarations decide it (with the kinds they declare), and chapters
  // that only discuss it: in their README, or with rows that are context, ties or checks true by
  // construction — shown beside a verdict, never counted in it.
  std::map<std::string, std::vector<std::string>> decided_by, discussed_in;
  for (const auto& [name, d] : descriptions.items()) {
    std::map<std::string, std::vector<std::string>> kinds;  // claim -> counted kinds in this chapter
    std::map<std::string, bool> mentioned;
    for (const auto& e : d.value("expectations", json::array())) {
      const std::string claim = e.value("claim", "");
      mentioned[claim] = true;
      const bool counted =
          e.value("op", "") != "~" && e.value("context", "").empty() && e.value("by_construction", "").empty();
      if (!counted) continue;
      auto& ks = kinds[claim];
      const std::string k = e.value("kind", "invariant");
      if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
    }
    for (const auto& c : d.value("claims", std::vector<std::string>{})) mentioned[c] = true;
    for (const auto& [claim, any] : mentioned) {
      if (claim.empty() || !any) continue;
      auto ks = kinds[claim];
      if (ks.empty()) {
        discussed_in[claim].push_back(name);
        continue;
      }
      std::sort(ks.begin(), ks.end());
      std::string label = name + " (";
      for (std::size_t i = 0; i < ks.size(); ++i) label += (i ? ", " : "") + ks[i];
      decided_by[claim].push_back(label + ")");
    }
  }
  std::string out =
      "# Claims\n\n"
      "<!-- Generated by `build/runners/workbench claims --catalog` from results/claims.json and the chapters'\n"
      "     declarations; edit those, then regenerate this page (a test compares them). -->\n\n"
      "The source analysis behind this workbench — a critical analysis of synchronous and asynchronous\n"
      "programming written from a Rust/Tokio point of view — asserts many things as general truths. These\n"
      "are the ones a measurement can decide, in our words, with the sections of the analysis they come\n"
      "from. `workbench claims RESULTS` gives every claim a verdict on the machine the results were\n"
      "measured on: **holds** or **does not hold** (an exact one-sided test at 5 % puts the repetitions on\n"
      "that side of the claim's bound: a rank test against the other variant, a sign test against a\n"
      "constant), **inconclusive** (it puts them on neither), **mixed** (some evidence holds, some does\n"
      "not), or **not measured**. A verdict is a finding about that machine, never a test failure; only the\n"
      "invariants a chapter declares gate CI (`workbench check`).\n\n"
      "Each claim's bound comes from its words and was fixed before measuring (the chapters' declarations\n"
      "say why each factor is what it is). *Decided by* names the chapters whose measurements count\n"
      "toward the verdict — *claim*: a comparison of the claim itself; *invariant*: a check that must hold\n"
      "on any machine and supports it. *Discussed in* names chapters that teach the claim without\n"
      "deciding it: in their README, or with rows shown beside the verdict and never counted (a tie at low\n"
      "concurrency, a fact of the machine such as its thread ceiling, a check true by construction).\n\n"
      "| id | sections | claim | decided by | discussed in | what decides it |\n"
      "| --- | --- | --- | --- | --- | --- |\n";
  const auto joined = [](const std::vector<std::string>& xs) {
    std::string o;
    for (const auto& x : xs) o += (o.empty() ? "" : "; ") + x;
    return o.empty() ? std::string("—") : o;
  };
  for (const auto& c : catalog) {
    std::string sections;
    for (const auto& sec : c.sections) sections += (sections.empty() ? "§" : ", §") + sec;
    const std::string decided = decided_by.count(c.id) ? joined(decided_by[c.id]) : "not yet";
    out += "| " + c.id + " | " + sections + " | " + c.statement + " | " + decided + " | " + joined(discussed_in[c.id]) +
           " | " + c.to_decide + " |\n";
  }
  return out;
}

namespace {

std::string ratio_text(const json& e) {
  if (!e["ratio"].is_number()) return "";
  char buf[64];
  if (e["ratio_ci"].is_array() && e.value("ratio_ci_coverage", json()).is_number()) {
    std::snprintf(buf, sizeof buf, "%.2fx [%.2f, %.2f] %.0f%%", e["ratio"].get<double>(),
                  e["ratio_ci"][0].get<double>(), e["ratio_ci"][1].get<double>(),
                  100 * e["ratio_ci_coverage"].get<double>());
  } else if (e["ratio_ci"].is_array()) {  // a ledger from before coverages
    std::snprintf(buf, sizeof buf, "%.2fx [%.2f, %.2f]", e["ratio"].get<double>(), e["ratio_ci"][0].get<double>(),
                  e["ratio_ci"][1].get<double>());
  } else {
    std::snprintf(buf, sizeof buf, "%.2fx", e["ratio"].get<double>());
  }
  return buf;
}

void print_ledger(const json& ledger) {
  std::size_t wdecl = 11, wpoint = 5, wev = 8, wch = 14;
  for (const auto& c : ledger["claims"]) {
    for (const auto& ch : c["chapters"]) {
      const bool other_host = ledger.value("host", "") != ch.value("host", "");
      wch = std::max(wch, ch.value("chapter", "").size() + (other_host ? 1 + ch.value("host", "").size() : 0));
      for (const auto& e : ch["evidence"]) {
        wdecl = std::max(wdecl, e.value("declaration", "").size() + (e.value("kind", "") == "invariant" ? 4 : 0));
        wpoint = std::max(wpoint, std::min<std::size_t>(30, e.value("point", "").size()));
        wev = std::max(wev, std::min<std::size_t>(40, e.value("lhs", "").size() + e.value("rhs", "").size() + 4));
      }
    }
  }
  // A run of a few chapters leaves most claims unmeasured: list those in one line at the end
  // rather than a paragraph each.
  std::size_t unmeasured = 0;
  for (const auto& c : ledger["claims"]) unmeasured += c["chapters"].empty() ? 1 : 0;
  const bool partial_run = 2 * unmeasured > ledger["claims"].size();
  std::string not_in_run;
  std::printf("\n%-4s %-14s %s\n", "id", "verdict", "claim (sections of the source analysis)");
  for (const auto& c : ledger["claims"]) {
    if (partial_run && c["chapters"].empty()) {
      not_in_run += (not_in_run.empty() ? "" : " ") + c.value("id", "");
      continue;
    }
    std::string sections;
    for (const auto& s : c["sections"]) sections += (sections.empty() ? "§" : ", §") + s.get<std::string>();
    const std::string verdict = c.value("verdict", "");
    const std::string basis = c.value("basis", "") == "invariants" ? "  [by invariants only]" : "";
    std::printf("%-4s %-14s %s (%s)%s\n", c.value("id", "").c_str(),
                verdict == "does not hold" ? "DOES NOT HOLD" : verdict.c_str(), c.value("statement", "").c_str(),
                sections.c_str(), basis.c_str());
    if (c["chapters"].empty()) {
      std::printf("     %-*s no chapter in this run measures it; to decide: %s\n", int(wch), "",
                  c.value("to_decide", "").c_str());
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
        if (v.empty()) v = e.value("status", "");  // missing, n/a, tie, not a tie
        if (!e.value("by_construction", "").empty()) v = "by construction";
        if (!e.value("context", "").empty() && e.value("op", "") != "~") v += " (context)";
        char n[32] = "";
        if (e.value("n_rhs", 0) > 0)
          std::snprintf(n, sizeof n, "n %d/%d", e.value("n_lhs", 0), e.value("n_rhs", 0));
        else if (e.value("n_lhs", 0) > 0)
          std::snprintf(n, sizeof n, "n %d", e.value("n_lhs", 0));
        std::printf("     %-*s %-*s %-*s %-*s %-*s %-22s %s\n", int(wch),
                    first ? (ch.value("chapter", "") + host).c_str() : "", 13, v.c_str(), int(wdecl), decl.c_str(),
                    int(wpoint), fit(e.value("point", ""), 30).c_str(), int(wev), fit(ev, 40).c_str(),
                    ratio_text(e).c_str(), n);
        first = false;
      }
    }
  }
  std::string counts;
  for (const char* k : {"holds", "does not hold", "inconclusive", "mixed", "not measured"}) {
    const int n = ledger["summary"].value(k, 0);
    if (n) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + k;
  }
  if (!not_in_run.empty())
    std::printf("\nnot measured: no chapter in this run measures %s (CLAIMS.md names the chapters that do)\n",
                not_in_run.c_str());
  std::printf("\n%zu claims of the source analysis, on this machine: %s\n", ledger["claims"].size(), counts.c_str());
  std::printf(
      "([i]: an invariant that supports the claim; [by invariants only]: no measured comparison decides the\n"
      " claim, only checks that must hold on any machine and gate CI — such a verdict can never be inconclusive.\n"
      " A claim's verdict: an exact one-sided test at 5 %% — a rank\n"
      " test against the other variant's repetitions, a sign test against a constant; ratio: lhs / rhs of the\n"
      " medians, then the exact distribution-free interval that goes with the test and its coverage (90 %% at\n"
      " 3 + 3 repetitions is simply the lowest to the highest pairwise ratio).  tie / not a tie: the two are\n"
      " within the stated factor of each other, or not: context beside the claim, never counted for or against it.\n"
      " by construction: a check the code cannot fail, kept as a test and never counted.  n: successful\n"
      " repetitions of each side.  A verdict is this machine's, never a failure.)\n");
}

}  // namespace

int cmd_claims(const std::string& path, const json& current, const std::string& catalog_path,
               const std::string& json_out, const std::string& baseline, bool fail_on_change) {
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
      const char* what = !flip  ? "changed (to or from inconclusive: not a flip)"
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

}  // namespace wb::runner
