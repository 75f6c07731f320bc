// Chapter 10 — scheduling costs.  The fixed main() of every chapter: parse the options, run the
// chosen variant(s), print or emit the results, return an exit code.  Three variants: threads
// (sync.cpp), stackless (async.cpp), stackful (stackful.cpp).
#include "chapters/10-scheduling-costs/scenario.hpp"

int main(int argc, char** argv) {
  scheduling_costs::Params params;
  wb::Chapter chapter = scheduling_costs::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    scheduling_costs::work(1, 0);  // calibrates the work loop before the clock starts: not measured
    run.measure([&] {
      return variant.is("threads")     ? scheduling_costs::run_threads(params, run)
             : variant.is("stackless") ? scheduling_costs::run_stackless(params, run)
                                       : scheduling_costs::run_stackful(params, run);
    });
  });
}
