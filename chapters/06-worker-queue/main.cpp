// Chapter 06 — a worker queue with backpressure.  Every chapter's main() has this one shape
// (chapters/README.md): parse the options, set up what is not measured, measure the chosen variant,
// finish after the clock stops.
#include "chapters/06-worker-queue/scenario.hpp"

int main(int argc, char** argv) {
  worker_queue::Params params;
  wb::Chapter chapter = worker_queue::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    worker_queue::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? worker_queue::run_sync(params, workload, run)
                                : worker_queue::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
