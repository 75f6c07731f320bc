// Chapter 05 — a request-response HTTP service under load.  Every chapter's main() has this one
// shape (chapters/README.md): parse the options, set up what is not measured, measure the chosen
// variant, finish after the clock stops.
#include "chapters/05-http-service/scenario.hpp"

int main(int argc, char** argv) {
  http_service::Params params;
  wb::Chapter chapter = http_service::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    http_service::Workload workload(params, run);  // set-up: not measured
    run.measure([&] {
      return variant.blocking() ? http_service::run_sync(params, workload, run)
                                : http_service::run_async(params, workload, run);
    });
    workload.finish(run);  // after the measured region: not measured
  });
}
