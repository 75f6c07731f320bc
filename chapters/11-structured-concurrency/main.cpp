// Chapter 11 — structured concurrency.  The fixed main() of every chapter: parse the options,
// run the chosen variant(s), print or emit the results, return an exit code.  Four variants:
// sync-detached and sync-scoped (sync.cpp), async-detached and async-scoped (async.cpp).
#include "chapters/11-structured-concurrency/scenario.hpp"

int main(int argc, char** argv) {
  structured_concurrency::Params params;
  wb::Chapter chapter = structured_concurrency::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    run.measure([&] {
      const bool scoped = variant.is("sync-scoped") || variant.is("async-scoped");
      return variant.is("sync-detached") || variant.is("sync-scoped")
                 ? structured_concurrency::run_sync(params, run, scoped)
                 : structured_concurrency::run_async(params, run, scoped);
    });
  });
}
