// Chapter 08 — a circuit breaker.  The fixed main() of every chapter: parse the options, build the
// scenario, run the chosen variant(s), print or emit the results, return an exit code.
#include "chapters/08-circuit-breaker/scenario.hpp"

int main(int argc, char** argv) {
  circuit_breaker::Params params;
  wb::Chapter chapter = circuit_breaker::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const circuit_breaker::Workload workload(params);  // starts the backend: not measured
    run.measure([&] {
      return variant.is("sync") ? circuit_breaker::run_sync(params, workload, run)
                                : circuit_breaker::run_async(params, workload, run);
    });
  });
}
