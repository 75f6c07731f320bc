// Chapter 01 — reading files, the BLOCKING way: K threads, each parked in read(2) while the
// kernel fetches its file.  Twin of async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: one OS thread per file in flight.  With --concurrency 1 the files are read
// one after the other on the main thread, and the wall time is the sum of the reads (§1.1,
// claim C1); with K > 1, K threads share the list and the kernel overlaps their waits.  The
// read is read_file_blocking (scenario.cpp): read(2) on the calling thread.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "chapters/01-file-reads/scenario.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"
#include "common/work.hpp"

namespace file_reads {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  std::vector<std::uint64_t> digests(workload.size());
  std::atomic<std::size_t> next_file{0};  // the worker threads share it: atomics
  std::atomic<std::uint64_t> bytes_read{0};
  wb::FirstError error;  // the first failure stops the others, and is rethrown after the join

  // One worker: takes the next file, reads it to the end, repeats.  Each read() parks the
  // worker's thread in the kernel; the other threads (if any) run meanwhile.
  auto worker = [&](std::int64_t worker_id) {
    std::vector<char> buffer(static_cast<std::size_t>(params.chunk_kib) * 1024);
    for (std::size_t i; !error.failed() && (i = next_file++) < workload.size();) {
      const auto task = static_cast<std::int64_t>(i);
      wb::span_begin(task, "read file " + std::to_string(i));
      const auto start = std::chrono::steady_clock::now();
      const auto file = read_file_blocking(workload.paths()[i], buffer);  // parks this thread
      wb::span_end(task, "read file " + std::to_string(i));
      digests[i] = file.digest;
      bytes_read += file.bytes;
      if (params.process_ms > 0) wb::event(task, params.process_kind == "wait" ? "wait (processing)" : "processing");
      if (params.process_kind == "wait") {
        std::this_thread::sleep_for(std::chrono::milliseconds(params.process_ms));  // parks this thread
      } else {
        wb::burn_cpu_ms(params.process_ms);  // holds this thread's core; other threads go on
      }
      // A file's latency is all of its work, the processing included: what one after another adds up.
      run.latency().record((std::chrono::steady_clock::now() - start).count());
    }
    wb::event(-1, "worker " + std::to_string(worker_id) + " done");
  };
  // A thread per worker (with --concurrency 1, this thread): the blocking twin of co_spawn.
  // Exception policy: a worker's exception (or a thread the OS refused) is kept; the rest stop.
  wb::run_on_threads(params.concurrency, worker, error.handler());  // returns when every worker has finished
  error.rethrow();

  run.counter("bytes_read", static_cast<double>(bytes_read));
  run.counter("workers", static_cast<double>(params.concurrency));
  return {workload.size(), combine_digests(digests)};
}

}  // namespace file_reads
