// Chapter 10 — scheduling costs.  Every chapter's main() has this one shape (chapters/README.md):
// parse the options, set up what is not measured, measure the chosen variant, finish after the
// clock stops.  Three variants: threads (sync.cpp), stackless (async.cpp), stackful (stackful.cpp).
#include "chapters/10-scheduling-costs/scenario.hpp"

int main(int argc, char** argv) {
  scheduling_costs::Params params;
  wb::Chapter chapter = scheduling_costs::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    scheduling_costs::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? scheduling_costs::run_sync(params, workload, run)
                                : scheduling_costs::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
