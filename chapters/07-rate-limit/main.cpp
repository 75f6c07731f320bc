// Chapter 07 — rate limiting.  Every chapter's main() has this one shape (chapters/README.md):
// parse the options, set up what is not measured, measure the chosen variant, finish after the
// clock stops.
#include "chapters/07-rate-limit/scenario.hpp"

int main(int argc, char** argv) {
  rate_limit::Params params;
  wb::Chapter chapter = rate_limit::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    rate_limit::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? rate_limit::run_sync(params, workload, run)
                                : rate_limit::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
