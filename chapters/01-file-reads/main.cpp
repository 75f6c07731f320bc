// Chapter 01 — reading files.  Every chapter's main() has this one shape (chapters/README.md):
// parse the options, set up what is not measured, measure the chosen variant, finish after the
// clock stops.
#include "chapters/01-file-reads/scenario.hpp"

int main(int argc, char** argv) {
  file_reads::Params params;
  wb::Chapter chapter = file_reads::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    file_reads::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? file_reads::run_sync(params, workload, run)
                                : file_reads::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
