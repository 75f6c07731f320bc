// Chapter 02 — fan-out/fan-in.  The fixed main() of every chapter: parse the options, build
// the scenario, run the chosen variant(s), print or emit the results, return an exit code.
#include "chapters/02-fan-out/scenario.hpp"

int main(int argc, char** argv) {
  fan_out::Params params;
  wb::Chapter chapter = fan_out::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const fan_out::Workload workload(params, chapter.seed());  // starts the backend: not measured
    run.measure([&] {
      return variant.is("sync") ? fan_out::run_sync(params, workload, run) : fan_out::run_async(params, workload, run);
    });
    fan_out::report_memory(run);
  });
}
