// Chapter 00 — how a coroutine waits.  Every chapter's main() has this one shape (chapters/README.md):
// parse the options, set up what is not measured, measure the chosen variant, finish after the
// clock stops.  Three variants: threads (sync.cpp), hand-rolled (async.cpp), asio (asio.cpp).
#include "chapters/00-how-a-coroutine-waits/scenario.hpp"

int main(int argc, char** argv) {
  how_a_coroutine_waits::Params params;
  wb::Chapter chapter = how_a_coroutine_waits::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    how_a_coroutine_waits::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? how_a_coroutine_waits::run_sync(params, workload, run)
                                : how_a_coroutine_waits::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
