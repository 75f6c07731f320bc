// Chapter 05 — a request-response HTTP service (§13, health checks §23), measured under
// real load: the chapter starts the service (http-server, built from sync.cpp or
// async.cpp) in a process of its own, drives it with a coroutine load generator
// (common/loadgen) over loopback, and reports the *server's* peak threads, memory and CPU
// (common/resources: ProcessWatch) beside the client-side latency and throughput.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/backend.hpp"
#include "common/chapter.hpp"
#include "common/loadgen.hpp"
#include "common/process.hpp"

namespace http_service {

struct Params {
  std::int64_t connections = 100;   // keep-alive connections the load generator holds
  std::int64_t duration_ms = 1000;  // how long it sends
  double rate = 0;                  // requests/s in total; 0 = closed loop
  std::int64_t delay_ms = 1;        // the service's simulated downstream latency per request
  std::int64_t bytes = 64;          // body of each answer
  std::int64_t server_threads = 0;  // async server's threads; 0 = the cores
  std::string shape = "shared";     // async server: shared | reuseport
  std::int64_t client_threads = 1;  // the load generator's threads
  std::int64_t max_connections = 10'000;
  std::int64_t timeout_ms = 5'000;  // client's per-request timeout
  std::int64_t startup_ms = 100;    // the service's start-up: alive, not yet ready
  std::int64_t unready_ms = 50;     // after SIGTERM: alive, not ready, still serving; then the drain
};

wb::Chapter make_chapter(Params& params);

// The service under test, started before the measured region and stopped (SIGTERM: a drain)
// after it, probed on the way in and on the way out.
//
// Once it listens, the chapter probes it as an orchestrator would — /healthz and /readyz every
// few milliseconds until it is ready — counting the probes that found it alive but not ready
// (still starting: §23's "readiness is not liveness").  Then it asks a fixed set of questions
// (health, readiness, a /work answer, a 404, a bad query): both servers share their handler, so
// the answers — and their digest, the trial's result digest — must be the same.
//
// After the measured region, finish() stops it (SIGTERM: a drain that must exit 0) and makes the
// server's figures, watched from outside during the load, the trial's resources.
class Workload : public wb::Workload {
 public:
  Workload(const Params& params, const wb::Run& run);  // run.variant(): the server's model
  const wb::Endpoint& endpoint() const { return endpoint_; }
  int pid() const { return child_->pid(); }
  const std::string& answers_digest() const { return digest_; }
  // Probes during start-up that found the service alive (/healthz 200) and not ready (/readyz 503).
  std::int64_t alive_not_ready_probes() const { return alive_not_ready_; }
  double ready_after_ms() const { return ready_after_ms_; }
  // SIGTERM, then the same probes every 5 ms until the service stops accepting (a probe is
  // refused) or exits; returns its exit status (0: drained cleanly).
  int stop();
  // Probes after SIGTERM that found the service alive (/healthz 200) and not ready (/readyz 503).
  std::int64_t draining_alive_not_ready_probes() const { return draining_alive_not_ready_; }
  // The server's resources during the load (drive() fills it in).
  wb::ResourceUsage& server_usage() { return server_usage_; }
  void finish(wb::Run& run);

 private:
  std::unique_ptr<wb::ChildProcess> child_;
  wb::Endpoint endpoint_;
  std::string digest_;
  std::int64_t alive_not_ready_ = 0;
  std::int64_t draining_alive_not_ready_ = 0;
  std::int64_t unready_ms_ = 0;
  double ready_after_ms_ = 0;
  wb::ResourceUsage server_usage_;
};

// The measured region: the load, with the server's resources watched from outside (into
// workload.server_usage()).
wb::Outcome drive(const Params& params, Workload& workload, wb::Run& run);

// The load is the same for both variants; what differs is the server the Workload started
// (http-server --model sync, built from sync.cpp, or --model async, from async.cpp).
inline wb::Outcome run_sync(const Params& params, Workload& workload, wb::Run& run) {
  return drive(params, workload, run);
}
inline wb::Outcome run_async(const Params& params, Workload& workload, wb::Run& run) {
  return drive(params, workload, run);
}

}  // namespace http_service
