// Chapter 07 — rate limiting.  The fixed main() of every chapter: parse the options, build the
// scenario, run the chosen variant(s), print or emit the results, return an exit code.
#include "chapters/07-rate-limit/scenario.hpp"

int main(int argc, char** argv) {
  rate_limit::Params params;
  wb::Chapter chapter = rate_limit::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const rate_limit::Workload workload(params);  // starts the backend: not measured
    run.measure([&] {
      return variant.is("sync") ? rate_limit::run_sync(params, workload, run)
                                : rate_limit::run_async(params, workload, run);
    });
  });
}
