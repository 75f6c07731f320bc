// Chapter 04 — graceful shutdown.  Every chapter's main() has this one shape (chapters/README.md):
// parse the options, set up what is not measured, measure the chosen variant, finish after the
// clock stops.
#include "chapters/04-shutdown/scenario.hpp"

int main(int argc, char** argv) {
  graceful_shutdown::Params params;
  wb::Chapter chapter = graceful_shutdown::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    graceful_shutdown::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? graceful_shutdown::run_sync(params, workload, run)
                                : graceful_shutdown::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
