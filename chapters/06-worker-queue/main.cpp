// Chapter 06 — a worker queue with backpressure.  The fixed main() of every chapter: parse the
// options, build the scenario, run the chosen variant(s), print or emit the results, return an
// exit code.
#include "chapters/06-worker-queue/scenario.hpp"

int main(int argc, char** argv) {
  worker_queue::Params params;
  wb::Chapter chapter = worker_queue::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const worker_queue::Workload workload(params);  // starts the backend, draws the schedule: not measured
    run.measure([&] {
      return variant.is("sync") ? worker_queue::run_sync(params, workload, run)
                                : worker_queue::run_async(params, workload, run);
    });
  });
}
