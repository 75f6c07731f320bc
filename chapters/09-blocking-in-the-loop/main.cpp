// Chapter 09 — blocking in the event loop.  Every chapter's main() has this one shape
// (chapters/README.md): parse the options, set up what is not measured, measure the chosen variant,
// finish after the clock stops.  Four variants: sync (sync.cpp) and three async ones (async.cpp).
#include "chapters/09-blocking-in-the-loop/scenario.hpp"

int main(int argc, char** argv) {
  blocking_in_the_loop::Params params;
  wb::Chapter chapter = blocking_in_the_loop::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    blocking_in_the_loop::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? blocking_in_the_loop::run_sync(params, workload, run)
                                : blocking_in_the_loop::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
