// Chapter 12 — errors across tasks.  Every chapter's main() has this one shape
// (chapters/README.md): parse the options, set up what is not measured, measure the chosen variant,
// finish after the clock stops.  Eight variants: thread-terminate, async-future, jthread-ptr
// (sync.cpp); co-spawn-detached, parallel-group, co-spawn-handler (async.cpp); co-spawn-rethrow,
// as-tuple (async_extras.cpp).  thread-terminate's own child process (the one that aborts) is --thread-child on,
// which parse() runs instead of a trial (Chapter::helper_process).
#include "chapters/12-errors-across-tasks/scenario.hpp"

int main(int argc, char** argv) {
  errors_across_tasks::Params params;
  wb::Chapter chapter = errors_across_tasks::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    errors_across_tasks::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? errors_across_tasks::run_sync(params, workload, run)
                                : errors_across_tasks::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
