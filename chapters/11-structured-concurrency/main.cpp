// Chapter 11 — structured concurrency.  Every chapter's main() has this one shape
// (chapters/README.md): parse the options, set up what is not measured, measure the chosen variant,
// finish after the clock stops.  Four variants: sync-detached and sync-scoped (sync.cpp),
// async-detached and async-scoped (async.cpp).
#include "chapters/11-structured-concurrency/scenario.hpp"

int main(int argc, char** argv) {
  structured_concurrency::Params params;
  wb::Chapter chapter = structured_concurrency::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    structured_concurrency::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? structured_concurrency::run_sync(params, workload, run)
                                : structured_concurrency::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
