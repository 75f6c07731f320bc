// `workbench lab CHAPTER`: predict, run, compare.  The chapter's questions (its --describe
// "predictions", declared with Chapter::prediction) are asked before anything runs; the chapter
// then runs through the runner at the points the questions and their claims need, a few
// repetitions, every trial a process of its own; each answer is set against the measurement,
// beside the verdict of the claim the same run decides, with the lines of sync.cpp and
// async.cpp that explain it.  The answers go into the results file ("lab"), so a class's merged
// file holds how the class predicted against what its machines measured.
//
// The functions below do no I/O but reading the source lines an answer points at; the tests
// drive them with hand-made documents, and tests/lab.py drives the command.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runners/plan.hpp"

namespace wb::runner {

// "id=value" words (--predict), or the lines of an answers file (blank lines and "#" comments
// skipped).  Throws std::invalid_argument for a malformed one or an id given twice.
std::map<std::string, std::string> parse_answers(const std::vector<std::string>& lines, const std::string& where);

// The answer to `prediction` as the results file keeps it (a number, or a choice's name), or
// std::invalid_argument saying what is accepted.
nlohmann::json accept_answer(const nlohmann::json& prediction, const std::string& text);

// The points the lab runs, as --sweep-free plan points: each prediction's point, and each quick
// point at which a declaration of a predicted claim is measured (its where with lhs_where or
// rhs_where), in the chapter's order, each once.
std::vector<std::vector<std::pair<std::string, std::string>>> lab_points(const nlohmann::json& description);

// What the run says about one prediction of `chapter`, from its trials in `results`:
//   {"measured": number | choice | null, "text": "17 threads", "detail": "sync 41 ms, async 12 ms",
//    "reason": why null}
nlohmann::json measure_prediction(const std::string& chapter, const nlohmann::json& prediction,
                                  const nlohmann::json& results);

// The answer set against the measurement: "close" / "far" (a number: within the prediction's
// close factor either way, with "factor" how far off), "right" / "wrong" (a choice), or
// "not measured".
nlohmann::json judge_prediction(const nlohmann::json& prediction, const nlohmann::json& answer,
                                const nlohmann::json& measured);

struct LabOptions {
  std::string chapter;
  std::vector<std::string> predict;  // id=value words
  std::string answers_file;          // lines id=value
  int repeat = 5;                    // five: the fewest at which a sign test against a constant can decide (p = 1/32)
  std::string out;                   // results file
  std::string label;                 // as workbench run --label
  std::string claims_catalog;
  std::string source_root;  // where the explaining lines' files are
  double trial_timeout = 60;
};

// Exit code: 0 (whatever the answers), 1 a trial failed, 2 bad usage or an unanswered question
// with no terminal to ask at, 130 interrupted.
int cmd_lab(std::vector<ChapterEntry>& chapters, const LabOptions& options);

}  // namespace wb::runner
