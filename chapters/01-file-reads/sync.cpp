// Chapter 01 — reading files, the BLOCKING way: K threads, each parked in read(2) while the
// kernel fetches its file.  Twin of async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: one OS thread per file in flight.  With --concurrency 1 the files are read
// one after the other on the main thread, and the wall time is the sum of the reads (§1.1,
// claim C1); with K > 1, K threads share the list and the kernel overlaps their waits.
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "chapters/01-file-reads/scenario.hpp"
#include "common/work.hpp"

namespace file_reads {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  std::vector<std::uint64_t> digests(workload.size());
  std::atomic<std::size_t> next_file{0};
  std::atomic<std::uint64_t> bytes_read{0};
  // The first failure stops the others from taking new files, and is rethrown after the join.
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;

  // One worker: takes the next file, reads it to the end, repeats.  Each read() parks the
  // worker's thread in the kernel; the other threads (if any) run meanwhile.
  auto worker = [&](std::int64_t worker_id) {
    try {
      std::vector<char> buffer(static_cast<std::size_t>(params.chunk_kib) * 1024);
      for (std::size_t i; !failed && (i = next_file++) < workload.size();) {
        const auto task = static_cast<std::int64_t>(i);
        wb::span_begin(task, "read file " + std::to_string(i));
        const auto start = std::chrono::steady_clock::now();
        const auto file = read_file_blocking(workload.paths()[i], buffer);
        run.latency().record((std::chrono::steady_clock::now() - start).count());
        wb::span_end(task, "read file " + std::to_string(i));
        digests[i] = file.digest;
        bytes_read += file.bytes;
        if (params.process_kind == "wait") {
          std::this_thread::sleep_for(std::chrono::milliseconds(params.process_ms));  // parks this thread
        } else {
          wb::burn_cpu_ms(params.process_ms);  // holds this thread's core; other threads go on
        }
      }
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      failed = true;
    }
    wb::event(-1, "worker " + std::to_string(worker_id) + " done");
  };

  if (params.concurrency == 1) {
    worker(0);  // one after the other, on this thread
  } else {
    // std::jthread joins in its destructor: leaving this scope waits for every worker.
    std::vector<std::jthread> threads;
    threads.reserve(static_cast<std::size_t>(params.concurrency));
    try {
      for (std::int64_t k = 0; k < params.concurrency; ++k) threads.emplace_back(worker, k);
    } catch (const std::system_error& e) {
      // The OS refused a thread (EAGAIN at the thread limit): stop the others and say so.
      const auto started = threads.size();
      failed = true;
      threads.clear();
      throw std::runtime_error("the OS refused thread " + std::to_string(started + 1) + " of " +
                               std::to_string(params.concurrency) + ": " + e.what() +
                               " (the thread ceiling: kernel.threads-max, kernel.pid_max, ulimit -u)");
    }
  }
  if (first_error) std::rethrow_exception(first_error);

  run.counter("bytes_read", static_cast<double>(bytes_read));
  run.counter("workers", static_cast<double>(params.concurrency));
  return {workload.size(), combine_digests(digests)};
}

}  // namespace file_reads
