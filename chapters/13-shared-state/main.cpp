// Chapter 13 — shared state.  The fixed main() of every chapter: parse the options, run the
// chosen variant(s), print or emit the results, return an exit code.  Six variants: mutex,
// atomic and sharded (sync.cpp), strand, actor and async-mutex (async.cpp); with --pitfall on
// each holds the state across a wait instead (pitfall.cpp).
#include "chapters/13-shared-state/scenario.hpp"

int main(int argc, char** argv) {
  shared_state::Params params;
  wb::Chapter chapter = shared_state::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const shared_state::Workload workload(params, chapter.seed());  // the updates: not measured
    run.measure([&] {
      if (params.pitfall == "on") return shared_state::run_pitfall(params, run, variant.name());
      return variant.is("mutex") || variant.is("atomic") || variant.is("sharded")
                 ? shared_state::run_sync(params, workload, run, variant.name())
                 : shared_state::run_async(params, workload, run, variant.name());
    });
  });
}
