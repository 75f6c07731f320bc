// Chapter 01 — reading files.  The fixed main() of every chapter: parse the options, build the
// scenario, run the chosen variant(s), print or emit the results, return an exit code.
#include "chapters/01-file-reads/scenario.hpp"

int main(int argc, char** argv) {
  file_reads::Params params;
  wb::Chapter chapter = file_reads::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const file_reads::Workload workload(params, chapter.seed());  // set-up: not measured
    run.measure([&] {
      return variant.is("sync") ? file_reads::run_sync(params, workload, run)
                                : file_reads::run_async(params, workload, run);
    });
    workload.report(run);
  });
}
