// Chapter 09 — blocking in the event loop.  The fixed main() of every chapter: parse the
// options, build the scenario, run the chosen variant(s), print or emit the results, return an
// exit code.  Four variants: sync (sync.cpp) and three async ones (async.cpp).
#include "chapters/09-blocking-in-the-loop/scenario.hpp"

int main(int argc, char** argv) {
  blocking_in_the_loop::Params params;
  wb::Chapter chapter = blocking_in_the_loop::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const blocking_in_the_loop::Workload workload(params);  // the scratch file: not measured
    run.measure([&] {
      return variant.is("sync") ? blocking_in_the_loop::run_sync(params, workload, run)
                                : blocking_in_the_loop::run_async(params, workload, run, variant.name());
    });
  });
}
