// Chapter 01 — reading files, the ASYNC way: K coroutines on one thread, whose reads go to
// io_uring and complete without parking any thread.  Twin of sync.cpp: `diff` is the lesson.
//
// Concurrency model: one io_context run by this thread; a coroutine per file in flight.  A
// co_await on a read suspends the coroutine, not the thread, which goes on to run the others
// (§1.2, claims C2 and C6).  How the read itself reaches the kernel — io_uring, or a pool of
// blocking threads where io_uring is unavailable — is reader.hpp's business.
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/01-file-reads/reader.hpp"
#include "chapters/01-file-reads/scenario.hpp"
#include "common/first_error.hpp"
#include "common/work.hpp"

namespace asio = boost::asio;

namespace file_reads {

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  std::vector<std::uint64_t> digests(workload.size());
  std::size_t next_file = 0;  // one thread runs every coroutine: no atomics needed
  std::uint64_t bytes_read = 0;
  wb::FirstError error;    // the first failure stops the others, and is rethrown after run()
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs it
  FileReader reader(params, run);

  // One worker: takes the next file, reads it to the end, repeats.  Each co_await suspends the
  // worker coroutine; the thread runs the other workers meanwhile.
  auto worker = [&](std::int64_t worker_id) -> asio::awaitable<void> {
    std::vector<char> buffer(static_cast<std::size_t>(params.chunk_kib) * 1024);
    for (std::size_t i; !error.failed() && (i = next_file++) < workload.size();) {
      const auto task = static_cast<std::int64_t>(i);
      wb::span_begin(task, "read file " + std::to_string(i));
      const auto start = std::chrono::steady_clock::now();
      const auto file = co_await reader.read(workload.paths()[i], buffer);  // suspends this worker
      wb::span_end(task, "read file " + std::to_string(i));
      digests[i] = file.digest;
      bytes_read += file.bytes;
      if (params.process_ms > 0) wb::event(task, params.process_kind == "wait" ? "wait (processing)" : "processing");
      if (params.process_kind == "wait") {
        co_await asio::steady_timer(io, std::chrono::milliseconds(params.process_ms)).async_wait(asio::use_awaitable);
      } else {
        wb::burn_cpu_ms(params.process_ms);  // holds the only thread: every worker waits
      }
      // A file's latency is all of its work, the processing included: what one after another adds up.
      run.latency().record((std::chrono::steady_clock::now() - start).count());
    }
    wb::event(-1, "worker " + std::to_string(worker_id) + " done");
  };
  // A coroutine per worker, all on this thread.
  // Exception policy: a worker's exception is kept; the rest stop.
  for (std::int64_t k = 0; k < params.concurrency; ++k) asio::co_spawn(io, worker(k), error.handler());
  io.run();  // returns when every worker has finished (so they may use this frame's locals)
  error.rethrow();

  run.counter("bytes_read", static_cast<double>(bytes_read));
  run.counter("workers", static_cast<double>(params.concurrency));
  return {workload.size(), combine_digests(digests)};
}

}  // namespace file_reads
