// Chapter 04 — graceful shutdown.  The fixed main() of every chapter: parse the options, build
// the scenario, run the chosen variant(s), print or emit the results, return an exit code.
#include <csignal>

#include "chapters/04-shutdown/scenario.hpp"

int main(int argc, char** argv) {
  graceful::Params params;
  wb::Chapter chapter = graceful::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](wb::Variant variant, wb::Run& run) {
    const graceful::Workload workload(params);  // starts the backend: not measured
    if (variant == wb::Variant::sync) {
      // The blocking service takes signals with sigtimedwait on one thread, so every thread must
      // block them — including the harness's, which start with the measured region below and
      // inherit this mask.
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
    }
    run.measure([&] {
      return variant == wb::Variant::sync ? graceful::run_sync(params, workload, run)
                                          : graceful::run_async(params, workload, run);
    });
  });
}
