// Chapter 04 — graceful shutdown.  The fixed main() of every chapter: parse the options, build
// the scenario, run the chosen variant(s), print or emit the results, return an exit code.
#include "chapters/04-shutdown/scenario.hpp"
#include "common/threads.hpp"

int main(int argc, char** argv) {
  graceful_shutdown::Params params;
  wb::Chapter chapter = graceful_shutdown::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const graceful_shutdown::Workload workload(params);  // starts the backend: not measured
    if (variant.is("sync")) {
      // The blocking service takes signals with sigtimedwait on one thread, so every thread must
      // block them — including the harness's, which start with the measured region below and
      // inherit this mask.
      wb::block_stop_signals();
    }
    run.measure([&] {
      return variant.is("sync") ? graceful_shutdown::run_sync(params, workload, run)
                                : graceful_shutdown::run_async(params, workload, run);
    });
  });
}
