// `workbench check`: evaluate the chapters' declarations on a results file — the invariants,
// which gate CI, and the claims, which get a verdict and never an exit code.  No processes: the
// tests drive check_expectations with hand-made documents.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::runner {

// One declaration evaluated at one point.  An invariant ("kind" invariant, or no kind: files
// from before kinds) is judged on medians: pass | fail.  A claim gets a verdict from its
// repetitions by an exact one-sided test at the 5 % level (statistics.hpp: a rank test against
// another variant, a sign test against a constant): holds (the test says the claim's side),
// does not hold (it says the other side), inconclusive (neither, or a side has a single
// repetition); a tie declaration (op "~") gets tie | not a tie | inconclusive instead.  A claim
// whose refused_holds variant the OS refused holds, with the refusal as evidence.  Either kind
// may be missing (the file lacks the trials it needs) or n/a (its `only_if` excluded every
// trial, or the machine has fewer CPUs than it needs).
struct Verdict {
  std::string chapter, id, kind, claim, text, why;
  std::string host;      // a merged file is checked host by host; "" otherwise
  std::string status;    // see above
  nlohmann::json point;  // the lhs side's parameters (missing: null, see `needs`)
  nlohmann::json needs;  // missing: the parameters a trial would need
  std::string op;        // "<", "<=", ">", ">=", "==", "~"
  std::string lhs, rhs;  // the values compared, as text ("12.3", "0.5 x 80.1 = 40.05")
  double margin = 0;     // how far inside (>1) or outside (<1) the bound; 0 when not numeric
  std::string detail;    // why missing, or the repetitions each side had
  // An invariant that cannot fail as the code stands: why (it is never a claim's evidence).
  std::string by_construction;
  // A claim's row shown beside it and never counted (a tie, a fact of the machine): why.
  std::string context;
  // The evidence, when both sides are numbers: medians, lhs / rhs with its exact
  // distribution-free interval and that interval's coverage (NaN when a value is not positive
  // or a side is text), the test's p-value for the verdict it gave, and the successful
  // repetitions on each side.
  double lhs_median = NAN, rhs_median = NAN, ratio = NAN, ratio_low = NAN, ratio_high = NAN;
  double coverage = NAN, p_value = NAN;
  std::size_t n_lhs = 0, n_rhs = 0;
  bool is_claim() const { return kind == "claim"; }
};

struct CheckReport {
  std::vector<Verdict> verdicts;
  std::vector<std::string> not_run;  // chapters with expectations but no trials in the file
  // From the invariants only (a claim's verdict never changes an exit code): 1 when one
  // failed, else 3 when one lacks trials, else 0.
  int exit_code() const;
};

// `descriptions` maps a chapter name to its --describe output (it needs "expectations").
// Medians over the repetitions that succeeded; ratios only between trials of this document and,
// in a merged file, of the same host.
CheckReport check_expectations(const nlohmann::json& results, const nlohmann::json& descriptions);

// `current` maps chapter names to the --describe output of the chapters this build has; they
// override the descriptions the file carries (what the code declares now is what CI checks).
int cmd_check(const std::string& path, const nlohmann::json& current, const std::string& json_out);

}  // namespace wb::runner
