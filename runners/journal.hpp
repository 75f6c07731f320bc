// How `workbench run` keeps its results safe without a per-trial cost that grows with the run.
//
// Every finished trial is appended, as one line of compact JSON, to a journal beside the results
// file (OUT.journal) and synced: that costs the same for the 2,000th trial as for the first.
// The results file itself is rewritten atomically (temporary file, fsync, rename) only now and
// then — after the first trial, then whenever the time since the last rewrite is at least 20
// times what that rewrite took (at least a second) — and once more at the end, when the
// journal is removed.  So a SIGKILLed run never leaves a truncated results file, the file is
// at most a few seconds behind, and the journal holds every finished trial:
// `workbench recover OUT` rebuilds OUT from it.
//
// In the results file each trial is one line of compact JSON (its latency histogram included),
// so a file of thousands of trials stays small enough to read quickly.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::runner {

class ResultsJournal {
 public:
  // Starts a new journal for `out` (replacing a stale one) with the run's context and the
  // chapters' descriptions.
  ResultsJournal(std::string out, nlohmann::json context, nlohmann::json chapters);
  ~ResultsJournal();  // closes the journal; without finish() it stays, for `workbench recover`
  ResultsJournal(const ResultsJournal&) = delete;
  ResultsJournal& operator=(const ResultsJournal&) = delete;

  // Appends a finished trial to the journal, and rewrites the results file when it is time.
  void add(const nlohmann::json& trial);

  // Writes the results file with every trial and `extra` top-level fields (the claims
  // ledger), then removes the journal.
  void finish(const nlohmann::json& extra = nlohmann::json::object());

  std::size_t size() const { return lines_.size(); }
  const std::string& journal_path() const { return journal_; }

 private:
  void write_results(const nlohmann::json& extra);

  std::string out_, journal_;
  nlohmann::json header_;           // schema, context, chapters
  std::vector<std::string> lines_;  // each trial, serialised once
  int fd_ = -1;
  std::chrono::steady_clock::time_point last_write_{};
  std::chrono::steady_clock::duration last_write_took_{};
};

// The results document text: the header's fields pretty-printed, then the trials, one compact
// line each (already serialised).
std::string results_text(const nlohmann::json& header, const std::vector<std::string>& trial_lines);

// Rebuilds a results file from the journal a killed run left (OUT.journal): how many trials it
// held, and how many lines were dropped (a last line cut off by the kill, and anything after a
// line that is not a trial).  Throws std::runtime_error when the journal is missing, empty or
// has no results header.
struct RecoveredResults {
  std::size_t trials = 0, dropped = 0;
};
RecoveredResults recover_results(const std::string& out);

}  // namespace wb::runner
