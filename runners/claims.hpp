// The claims ledger: what the source analysis asserts (results/claims.json), and the verdict
// each claim got on the machine a results file was measured on.  No I/O beyond reading the
// catalog; the tests drive these with hand-made documents.
//
// A claim's verdicts come from every declaration that names it — claims proper, and the
// invariants that support one (an invariant that passes is a claim that holds).  Per chapter
// (and host, in a merged file) they combine into one verdict, and per claim into one more:
// the same verdict everywhere gives that verdict, different ones give "mixed".  A claim no
// chapter measured in the file is "not measured".
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runners/check.hpp"

namespace wb::runner {

struct ClaimInfo {
  std::string id;                     // "C7"
  std::vector<std::string> sections;  // of the source analysis: "3.2", "7.1"
  std::string statement;              // in our words
  std::string to_decide;              // what a measurement needs, for claims no chapter tests yet
};

// Reads the catalog; throws std::runtime_error naming the file when it is unreadable.
std::vector<ClaimInfo> load_claim_catalog(const std::string& path);

// "holds" | "does not hold" | "inconclusive" for one evaluated declaration (missing and n/a
// give ""), whatever its kind.
std::string claim_verdict_of(const Verdict& v);

// Several verdicts as one: the common one, "mixed" when they differ, "not measured" when none.
std::string combine_verdicts(const std::vector<std::string>& verdicts);

// The ledger of a checked results file:
//   {"host": ..., "claims": [{"id", "sections", "statement", "verdict", "counts": {verdict: n},
//     "chapters": [{"chapter", "host", "verdict", "evidence": [{"declaration", "kind", "point",
//     "host", "verdict", "text", "why", "lhs", "op", "rhs", "lhs_median", "rhs_median", "ratio",
//     "ratio_ci", "n_lhs", "n_rhs", "detail"}]}]}],
//    "summary": {verdict: number of claims}}
// `descriptions` gives point names (parameters that differ from the chapter's defaults).
nlohmann::json build_ledger(const CheckReport& report, const std::vector<ClaimInfo>& catalog,
                            const nlohmann::json& results, const nlohmann::json& descriptions);

// Verdicts that changed between two ledgers, matched by claim, chapter, declaration and point:
//   [{"claim", "chapter", "declaration", "point", "old", "new", "old_host", "new_host",
//     "same_host", "flip"}]
// A flip is holds <-> does not hold; a change to or from inconclusive is not a flip.
nlohmann::json ledger_changes(const nlohmann::json& old_ledger, const nlohmann::json& new_ledger);

// CLAIMS.md: the catalog with the chapters (from their --describe output) that test each claim.
std::string catalog_markdown(const std::vector<ClaimInfo>& catalog, const nlohmann::json& descriptions);

// The claims ledger of a results file, with the catalog at `catalog_path`; with a baseline,
// the verdicts that changed (exit 1 with fail_on_change when one flipped on the same host).
int cmd_claims(const std::string& path, const nlohmann::json& current, const std::string& catalog_path,
               const std::string& json_out, const std::string& baseline, bool fail_on_change);

// CLAIMS.md on stdout: the catalog with the chapters of `current` that test each claim.
int cmd_claims_catalog(const std::string& catalog_path, const nlohmann::json& current);

}  // namespace wb::runner
