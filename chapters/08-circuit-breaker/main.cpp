// Chapter 08 — a circuit breaker.  Every chapter's main() has this one shape (chapters/README.md):
// parse the options, set up what is not measured, measure the chosen variant, finish after the
// clock stops.
#include "chapters/08-circuit-breaker/scenario.hpp"

int main(int argc, char** argv) {
  circuit_breaker::Params params;
  wb::Chapter chapter = circuit_breaker::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    circuit_breaker::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? circuit_breaker::run_sync(params, workload, run)
                                : circuit_breaker::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
