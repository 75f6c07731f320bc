// Chapter 03 — timeouts (§21): what both variants share.
//
// The scenario: --calls calls to the loopback backend, --concurrency at a time, each with a
// deadline.  A seeded share of calls is slow (answers after the deadline) and a share never
// answers at all (stalls).  The question is not only "did the caller get a timeout?" but "did
// the operation stop?" — §21: a timeout stops the waiting, not necessarily the work.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/backend.hpp"
#include "common/chapter.hpp"
#include "common/histogram.hpp"
#include "common/resources.hpp"
#include "common/work_params.hpp"

namespace timeouts {

struct Params {
  std::int64_t calls = 40;              // calls in all
  std::int64_t concurrency = 8;         // calls in flight at once (workers)
  std::int64_t deadline_ms = 100;       // each call's deadline
  double slow_rate = 0.2;               // share of calls that answer after the deadline
  double stall_rate = 0.05;             // share of calls that never answer
  std::string sync_timeout = "future";  // sync only: future (std::async + wait_for) | socket (poll)
  std::string backend;                  // HOST:PORT of a running backend; empty = start our own
  std::int64_t bytes = 128;             // size of each answer
};

wb::Chapter make_chapter(Params& params);

// The requests, with their latencies drawn from --seed: a fast call takes 10–50 % of the
// deadline, a slow one 150–300 %, a stalled one forever — half a deadline of margin either side.
class Workload : public wb::BackendWorkload {
 public:
  Workload(const Params& params, const wb::Run& run);  // the calls' fates are drawn from run.seed()
};

enum class CallStatus { ok, timed_out, failed };

struct CallResult {
  CallStatus status = CallStatus::failed;
  std::uint64_t digest = 0;
};

// What both variants count the same way.
struct Tally {
  std::vector<CallResult> results;
  wb::Histogram overshoot;               // ns past the deadline until the caller resumed
  std::atomic<std::int64_t> running{0};  // calls whose operation is still going (sockets open)
  // Operations the deadline ended, each reporting it as an error value: Asio's cancelled read
  // completes with operation_aborted, the blocking socket's read with a timeout; a future's
  // wait_for ends no operation, so it counts none.
  std::atomic<std::int64_t> deadline_completions{0};
  std::int64_t sockets_at_start = wb::open_sockets();
  explicit Tally(std::size_t n) : results(n) {}
};

// An operation in progress: counts itself in tally.running from construction to destruction,
// so "still running after the deadline" is a count of these, not a guess.
class Running {
 public:
  explicit Running(std::atomic<std::int64_t>& n) : n_(n) { ++n_; }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() { --n_; }

 private:
  std::atomic<std::int64_t>& n_;
};

struct Answer {
  unsigned status = 0;
  std::string body;
};

// Checks a 200 answer's body and returns its digest; throws std::runtime_error otherwise.
std::uint64_t check_answer(const wb::WorkRequest& request, unsigned status, const std::string& body);

// The outcome of every call in order (ok / timed out / failed, and the answer's digest): the
// same in both variants, since --seed decides which calls are slow or stall.
std::string digest_of(const std::vector<CallResult>& results);

// Counters, measured inside the region: calls ok / timed out / failed, overshoot p50 and p99,
// `still_running` — operations still going when every caller had its answer or timeout — and
// what the deadline left behind: its error-value completions and the sockets still open.
void record(const Tally& tally, std::int64_t still_running, wb::Run& run);

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace timeouts
