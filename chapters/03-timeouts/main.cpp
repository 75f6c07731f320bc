// Chapter 03 — timeouts.  The fixed main() of every chapter: parse the options, build the
// scenario, run the chosen variant(s), print or emit the results, return an exit code.
#include "chapters/03-timeouts/scenario.hpp"

int main(int argc, char** argv) {
  timeouts::Params params;
  wb::Chapter chapter = timeouts::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const timeouts::Workload workload(params, chapter.seed());  // starts the backend: not measured
    run.measure([&] {
      return variant.is("sync") ? timeouts::run_sync(params, workload, run)
                                : timeouts::run_async(params, workload, run);
    });
  });
}
