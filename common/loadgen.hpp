// A real HTTP load generator: coroutine clients with keep-alive, in two modes.
//
//   closed loop (rate == 0): each of C connections sends its next request when the previous
//     answer arrives — the load adapts to the server, like wrk;
//   open loop (rate > 0): requests leave on a fixed schedule, rate per second in total, spread
//     over the connections, like wrk2.  Latency is measured from the *scheduled* send time, so a
//     server that stalls is charged for the requests that queued behind the stall
//     (coordinated omission corrected); the uncorrected figure (from the real send) is kept too.
// In both, every connection is opened and makes one warm-up exchange before the clock starts, so
// the server is serving every connection when it does.
//
// No Asio here: the header goes into chapters that do not otherwise need it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/backend.hpp"
#include "common/histogram.hpp"

namespace wb {

struct LoadSpec {
  Endpoint server;
  std::string target = "/";
  int connections = 10;
  double rate = 0;                  // requests per second in total; 0 = closed loop
  std::int64_t duration_ms = 1000;  // how long requests are sent (after all connections are up)
  std::int64_t timeout_ms = 5000;   // per request; a late answer counts as "timeout"
  int threads = 1;                  // threads running the client's io_context
};

struct LoadResult {
  std::uint64_t ok = 0;  // 2xx answers
  std::uint64_t sent = 0;
  std::map<std::string, std::uint64_t> errors;  // "connect", "timeout", "reset", "closed", "status_503",
                                                // "unsent" (open loop: due after the schedule was hopeless),
                                                // "warmup_*" (the warm-up exchange failed)
  int connected = 0;                            // connections up (warm-up answered) when the clock started
  double wall_s = 0;                            // from the first send to the last answer
  std::uint64_t error_count() const;
};

// Connects, runs the load for spec.duration_ms, waits for the answers still due (at most
// timeout_ms), closes.  Latencies (ns) go into `latency` (corrected in open loop) and, in open
// loop, the uncorrected ones into `uncorrected`.  Throws std::runtime_error when no connection
// could be made at all.
LoadResult run_load(const LoadSpec& spec, Histogram& latency, Histogram* uncorrected = nullptr);

}  // namespace wb
