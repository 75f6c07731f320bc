// `workbench run`: plan the trials (chapters x sweep points x variants x repetitions), check
// each point once with the chapter itself (preflight), run every trial in a process of its own
// under a watchdog, journal each one as it finishes, and end with the results file, its claims
// ledger and a summary.
#pragma once

#include <string>
#include <vector>

#include "runners/plan.hpp"

namespace wb::runner {

// The command line of `workbench run`, bound option by option (workbench.cpp): what to plan —
// --set, --sweep, --repeat, --quick and --mode go straight into `plan`; cmd_run adds the chapters
// `names` picks — and how to run and report it.
struct RunOptions {
  std::vector<std::string> names;  // chapters to run; empty = all
  PlanRequest plan;
  std::string out;
  double trial_timeout = 60;
  std::string summary = "compact";  // compact | full | none
  std::string claims_catalog;
  std::string label;  // this machine's name in the results (context.label); empty: the host name
};

// Exit code: 0, 1 when a trial was not ok, 130 when interrupted (the finished trials are kept).
int cmd_run(std::vector<ChapterEntry>& all, const RunOptions& options);

// Ctrl-C and SIGTERM end the current trial and keep the finished ones: installs the handlers.
void stop_run_on_signals();

}  // namespace wb::runner
