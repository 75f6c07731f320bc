// Run: one variant measured in this process (common/chapter.hpp).
#include "common/chapter.hpp"

namespace wb {

void Run::begin() {
  measuring_ = true;
  latency_.reset();
  start_tracing(trace_);  // narration's clock starts with the measured region
  meter_.start();
}

void Run::end(const Outcome& outcome) {
  const auto usage = meter_.stop();
  measuring_ = false;
  measured_ = true;
  auto& m = record_.metrics;
  m.resources = usage;
  m.wall_s = usage.wall_s;
  m.ops = outcome.ops;
  m.throughput_ops_s = usage.wall_s > 0 ? static_cast<double>(outcome.ops) / usage.wall_s : 0.0;
  m.latency = latency_.summary();
  record_.result_digest = outcome.digest;
}

void Run::fail(const std::string& reason) {
  if (measuring_) end(Outcome{latency_.count(), ""});
  record_.status = "failed";
  record_.reason = reason;
}

}  // namespace wb
