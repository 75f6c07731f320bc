// Chapter 05 — a request-response HTTP service under load.  The fixed main() of every chapter:
// parse the options, build the scenario, run the chosen variant(s), emit the results.
#include "chapters/05-http-service/scenario.hpp"

int main(int argc, char** argv) {
  http_service::Params params;
  wb::Chapter chapter = http_service::make_chapter(params);
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    http_service::Server server(variant, params);  // starts the service: not measured
    wb::ResourceUsage usage;
    run.measure([&] { return http_service::drive(params, server, run, usage); });
    const int drained = server.stop();  // SIGTERM: the service drains and must exit 0
    run.counter("draining_alive_not_ready_probes", static_cast<double>(server.draining_alive_not_ready_probes()));
    if (drained != 0 && run.record().status == "ok") {
      run.record().status = "failed";
      run.record().reason = "the server did not drain cleanly (exit " + std::to_string(drained) + ")";
    }
    http_service::report(usage, run);
  });
}
