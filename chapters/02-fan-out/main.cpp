// Chapter 02 — fan-out/fan-in.  Every chapter's main() has this one shape (chapters/README.md):
// parse the options, set up what is not measured, measure the chosen variant, finish after the
// clock stops.
#include "chapters/02-fan-out/scenario.hpp"

int main(int argc, char** argv) {
  fan_out::Params params;
  wb::Chapter chapter = fan_out::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    fan_out::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? fan_out::run_sync(params, workload, run) : fan_out::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
