// The runner's subcommands that read result files rather than run chapters: check, claims,
// compare, export and merge.  Each returns the process exit code; a bad argument or an unreadable or
// foreign file throws UsageError (exit 2).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/usage_error.hpp"
#include "runners/analysis.hpp"

namespace wb::runner {

using wb::UsageError;

// read_results, with its message turned into a UsageError.
nlohmann::json load_results(const std::string& path);

// The chapter descriptions to judge a file by: the file's own, overridden by `current` — the
// --describe output of the chapters this build has (what the code declares now is what CI
// checks) — for the chapters the file has trials of.
nlohmann::json descriptions_for(const nlohmann::json& doc, const nlohmann::json& current);

// `current` maps chapter names to the --describe output of the chapters this build has; they
// override the descriptions the file carries (what the code declares now is what CI checks).
int cmd_check(const std::string& path, const nlohmann::json& current, const std::string& json_out);

// The claims ledger of a results file, with the catalog at `catalog_path`; with a baseline,
// the verdicts that changed (exit 1 with fail_on_change when one flipped on the same host).
int cmd_claims(const std::string& path, const nlohmann::json& current, const std::string& catalog_path,
               const std::string& json_out, const std::string& baseline, bool fail_on_change);

// CLAIMS.md on stdout: the catalog with the chapters of `current` that test each claim.
int cmd_claims_catalog(const std::string& catalog_path, const nlohmann::json& current);

int cmd_compare(const std::string& old_path, const std::string& new_path, const CompareOptions& options,
                const std::string& json_out, bool fail_on_regression, bool changed_only);

int cmd_export(const std::string& path, const std::string& format, const std::string& out);

int cmd_merge(const std::vector<std::string>& paths, const std::string& out);

}  // namespace wb::runner
