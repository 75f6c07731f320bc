// Chapter 13 — shared state.  Every chapter's main() has this one shape (chapters/README.md): parse
// the options, set up what is not measured, measure the chosen variant, finish after the clock
// stops.  Seven variants: mutex (sync.cpp), atomic and sharded (sync_ways.cpp); async-mutex
// (async.cpp), strand, actor and channel-lock (async_ways.cpp); with --pitfall on each holds the
// state across a wait (pitfall.cpp).
#include "chapters/13-shared-state/scenario.hpp"

int main(int argc, char** argv) {
  shared_state::Params params;
  wb::Chapter chapter = shared_state::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    shared_state::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? shared_state::run_sync(params, workload, run)
                                : shared_state::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
