// The side-by-side table a chapter prints after a run (and `workbench run` after each point):
// one column per variant, a row per metric, counter and info, and the ratio of the two.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/record.hpp"

namespace wb {

// Side-by-side table of one or two records of the same scenario (sync, async).
void print_table(std::ostream& out, const std::vector<TrialRecord>& records, const std::string& heading);

// "k=v k=v" of a params object, for headings and progress lines.
std::string params_line(const nlohmann::json& params);

}  // namespace wb
