// The side-by-side table a chapter prints after a run (and `workbench run` after each point):
// one column per variant, a row per metric, counter and info, and each variant's ratio to the
// baseline.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/record.hpp"

namespace wb {

// Side-by-side table of records of the same scenario, one per variant, with a column "v/base"
// for every other variant when the baseline's record is among them (empty: the first record's).
void print_table(std::ostream& out, const std::vector<TrialRecord>& records, const std::string& heading,
                 const std::string& baseline = {});

// "k=v k=v" of a params object, for headings and progress lines.
std::string params_line(const nlohmann::json& params);

}  // namespace wb
