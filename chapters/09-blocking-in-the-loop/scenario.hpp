// Chapter 09 — blocking in the event loop (§28): what the four variants share.
//
// The scenario: --heartbeats tasks each tick every --tick-ms (a timer: "am I on time?"), while
// --blockers tasks each run a blocking operation of --block-ms every --every-ms: a sleep, CPU
// work, or blocking file reads (--block-kind).  A tick's lag is how late it woke against its
// schedule; the loop's health is that lag.  Four ways to run the same tasks:
//   sync            a thread per task: a blocker stalls its own thread only;
//   async-blocking  THE PITFALL: coroutines on one io_context thread, the blocking call made on
//                   that thread — every heartbeat waits for it;
//   async-offload   the blocking call runs on an asio::thread_pool and is awaited: the loop
//                   thread stays free;
//   async-chunked   the work is cut into --slice-us slices with `co_await post(...)` between
//                   them: the loop runs the heartbeats between slices.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/chapter.hpp"
#include "common/files.hpp"

namespace blocking_in_the_loop {

using Clock = std::chrono::steady_clock;

struct Params {
  std::int64_t heartbeats = 10;  // timer tasks, each ticking every tick_ms (phases staggered)
  std::int64_t tick_ms = 5;
  std::int64_t blockers = 1;         // tasks that block
  std::int64_t block_ms = 100;       // how long each blocking operation takes
  std::int64_t every_ms = 200;       // each blocker starts one this often
  std::string block_kind = "sleep";  // sleep | cpu | file
  std::int64_t slice_us = 500;       // async-chunked: the work done between two yields
  std::int64_t duration_ms = 600;    // how long the heartbeats tick
  std::int64_t file_kib = 4096;      // block-kind file: the scratch file read over and over
  std::string tmp_dir = "/var/tmp";  // where the scratch file lives
};

wb::Chapter make_chapter(Params& params);

// Set-up, not measured: the scratch file for block-kind file.
class Workload : public wb::Workload {
 public:
  Workload(const Params& params, const wb::Run& run);
  int file_descriptor() const { return fd_; }
  std::int64_t file_bytes() const { return bytes_; }
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

 private:
  std::unique_ptr<wb::ScratchDir> dir_;
  int fd_ = -1;
  std::int64_t bytes_ = 0;
};

// One blocking operation of block_ms, done in one go (step(block_ms)) or in slices: each
// step() does at most `budget` of it and says whether it is finished.
class Blocking {
 public:
  Blocking(const Params& params, const Workload& workload);
  bool step(std::chrono::microseconds budget);
  // The threads its steps ran on: where the call really ran, whatever the code meant.
  const std::vector<std::thread::id>& threads() const { return threads_; }

 private:
  const Params& params_;
  const Workload& workload_;
  std::chrono::microseconds left_;
  std::int64_t offset_ = 0;  // file: where the next read starts
  std::uint64_t sink_ = 0;   // cpu and file: what the work computed (kept, so it is not optimised away)
  std::vector<std::thread::id> threads_;
};

// What every variant counts the same way: the heartbeats' lag, the ticks missed, the blocking
// operations done.  Safe from any thread.
class Beats {
 public:
  Beats(const Params& params, Clock::time_point start, wb::Run& run);
  Clock::time_point start() const { return start_; }
  Clock::time_point end() const { return end_; }
  // When heartbeat h's tick k is due (phases staggered over one tick).
  Clock::time_point due(std::int64_t h, std::int64_t k) const;
  // A tick ran now, due at `due`; returns the next tick to wait for (missed ones are skipped).
  std::int64_t ticked(std::int64_t h, std::int64_t k);
  // A blocking operation is done.
  void blocked(const Blocking& op);
  wb::Outcome record(const Params& params);

 private:
  const Params& params_;
  Clock::time_point start_, end_;
  wb::Run& run_;
  std::atomic<std::int64_t> ticks_{0}, missed_{0}, blocking_ops_{0};
  // Which threads ran ticks, and on which threads each blocking operation ran: how many
  // blocking calls shared a thread with the heartbeats is the structure, whatever the timing.
  std::mutex threads_mu_;
  std::set<std::thread::id> tick_threads_;
  std::vector<std::vector<std::thread::id>> blocking_threads_;
};

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
// run.variant(): async-blocking, async-offload or async-chunked.
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace blocking_in_the_loop
