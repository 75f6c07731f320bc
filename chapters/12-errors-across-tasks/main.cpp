// Chapter 12 — errors across tasks.  The fixed main() of every chapter: parse the options, run
// the chosen variant(s), print or emit the results, return an exit code.  Eight variants:
// thread-terminate, async-future, jthread-ptr (sync.cpp); co-spawn-detached,
// co-spawn-rethrow, co-spawn-handler, parallel-group, as-tuple (async.cpp).  --thread-child on is
// thread-terminate's own child process (the one that aborts).
#include "chapters/12-errors-across-tasks/scenario.hpp"

int main(int argc, char** argv) {
  errors_across_tasks::Params params;
  wb::Chapter chapter = errors_across_tasks::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  params.seed = chapter.seed();
  if (params.thread_child != "off") return errors_across_tasks::thread_child(params);
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    run.measure([&] {
      return variant.is("thread-terminate") || variant.is("async-future") || variant.is("jthread-ptr")
                 ? errors_across_tasks::run_threads(params, run, variant.name())
                 : errors_across_tasks::run_coroutines(params, run, variant.name());
    });
  });
}
