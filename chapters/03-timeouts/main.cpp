// Chapter 03 — timeouts.  Every chapter's main() has this one shape (chapters/README.md): parse the
// options, set up what is not measured, measure the chosen variant, finish after the clock stops.
#include "chapters/03-timeouts/scenario.hpp"

int main(int argc, char** argv) {
  timeouts::Params params;
  wb::Chapter chapter = timeouts::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    timeouts::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? timeouts::run_sync(params, workload, run)
                                : timeouts::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
