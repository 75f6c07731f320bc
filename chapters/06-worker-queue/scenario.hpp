// Chapter 06 — a worker queue with backpressure (§14): what both variants share.
//
// The scenario: producers submit jobs on a fixed schedule — steady, or a burst faster than the
// workers can go followed by quiet — into a queue that workers drain, each job a backend call of
// --job-ms carrying --payload-kib of data.  What happens when the queue is full is the lesson:
// `block` makes the producer wait (it falls behind its schedule: backpressure), `reject` turns
// the job away, `drop-oldest` throws the oldest queued job out to make room, and capacity 0
// means no limit (nothing pushes back; the backlog lives in memory).  Every job is accounted for:
// accepted = completed + dropped, and rejected ones were never accepted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/backend.hpp"
#include "common/chapter.hpp"
#include "common/histogram.hpp"
#include "common/work_params.hpp"

namespace worker_queue {

using Clock = std::chrono::steady_clock;

struct Params {
  std::int64_t producers = 2;        // threads (sync) or coroutines (async) submitting jobs
  std::int64_t rate_per_s = 150;     // steady: jobs per second, all producers together
  std::string pattern = "steady";    // steady | burst
  std::int64_t burst_factor = 4;     // burst: this many times the workers' capacity...
  std::int64_t burst_ms = 300;       // ...for this long, then quiet
  std::int64_t duration_ms = 600;    // producers submit for this long
  std::int64_t queue_capacity = 32;  // jobs waiting for a worker, at most; 0 = unbounded
  std::string when_full = "block";   // block | reject | drop-oldest
  std::int64_t workers = 4;          // jobs processed at once
  std::int64_t job_ms = 20;          // each job's backend call takes this long
  std::int64_t payload_kib = 128;    // data each job carries until it is done
  std::string backend;               // HOST:PORT of a running backend; empty = start our own
};

wb::Chapter make_chapter(Params& params);

// A job: its id, when its producer was scheduled to submit it, when it entered the queue, and
// its payload (filled from its id, checked by the worker).
// The async workers' "no more jobs" marker: a Job with this id comes after every job queued.
inline constexpr std::uint64_t kNoMoreJobs = UINT64_MAX;

struct Job {
  std::uint64_t id = 0;
  Clock::time_point scheduled{};
  Clock::time_point queued{};
  std::string payload;
};

// The backend, and every job's submit time as an offset from the start — the same schedule for
// both variants.  Producer p submits jobs p, p + producers, p + 2 * producers, ...
class Workload : public wb::BackendWorkload {
 public:
  Workload(const Params& params, const wb::Run& run);
  const std::vector<Clock::duration>& schedule() const { return schedule_; }
  double capacity_per_s() const { return capacity_per_s_; }

 private:
  std::vector<Clock::duration> schedule_;
  double capacity_per_s_;
};

// Job `id` due at `scheduled`, its payload made.
Job make_job(const Params& params, std::uint64_t id, Clock::time_point scheduled);
// The backend call job `id` makes; throws when the payload is not what make_job made.
wb::WorkRequest job_request(const Params& params, const Job& job);

// What both variants count the same way; depth and lag are sampled into series as they change.
struct Ledger {
  explicit Ledger(wb::Run& run) : run(run) {}
  wb::Run& run;
  std::atomic<std::int64_t> accepted{0};
  std::atomic<std::int64_t> completed{0};
  std::atomic<std::int64_t> rejected{0};
  std::atomic<std::int64_t> dropped{0};
  std::atomic<std::int64_t> failed{0};          // the backend call failed: counted, not lost
  std::atomic<std::int64_t> waits_for_room{0};  // a producer found the queue full and waited
  std::atomic<std::int64_t> peak_depth{0};
  std::atomic<std::int64_t> max_lag_us{0};
  wb::Histogram queue_wait;  // scheduled -> a worker took it (producer lag + time queued)
  wb::Histogram service;     // a worker took it -> done

  void depth(std::int64_t now);                        // call under the queue's lock, at each change
  void submitted(Clock::time_point scheduled);         // a producer got past the queue (any outcome)
  void done(const Job& job, Clock::time_point taken);  // a job's call finished
};

// The async queue's depth.  A channel does not say how many jobs it holds, so the async variant
// counts: the jobs in its buffer, and the workers waiting in async_receive — a job sent while one
// waits goes straight to that worker and never enters the buffer.  One thread: no lock.
class ChannelDepth {
 public:
  explicit ChannelDepth(Ledger& ledger) : ledger_(ledger) {}
  // A send put a job in: to a waiting worker, or into the buffer.
  void sent() { idle_ > 0 ? void(--idle_) : ledger_.depth(++buffered_); }
  // A worker is about to receive: the oldest buffered job at once, or it waits for the next send.
  void receiving() { buffered_ > 0 ? ledger_.depth(--buffered_) : void(++idle_); }
  // The oldest buffered job was taken out to make room.
  void dropped() { ledger_.depth(--buffered_); }
  std::int64_t buffered() const { return buffered_; }

 private:
  Ledger& ledger_;
  std::int64_t buffered_ = 0;
  std::int64_t idle_ = 0;
};

// Counters and the outcome: the jobs completed, and "lost=N failed=N" as the result both
// variants must agree on.  lost = scheduled - rejected - completed - dropped - failed: every job
// the schedule asked for ends one of those ways, so it must be 0.
wb::Outcome record(const Params& params, const Workload& workload, const Ledger& ledger, wb::Run& run);

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace worker_queue
