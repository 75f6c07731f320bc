// Chapter 01 — reading files, the ASYNC way: K coroutines on one thread, whose reads are
// submitted to io_uring (asio::stream_file) and complete without parking any thread.  Twin of
// sync.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// Concurrency model: one io_context run by this thread; a coroutine per file in flight.  A
// co_await on a read suspends the coroutine, not the thread, which goes on to run the others
// (§1.2, claims C2 and C6).  Where io_uring is compiled out or refused at run time, reads
// go to a blocking thread pool instead — what Tokio's fs does for every file read.
#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/stream_file.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#if defined(BOOST_ASIO_HAS_IO_URING)
#include <liburing.h>
#endif

#include "chapters/01-file-reads/scenario.hpp"
#include "common/digest.hpp"
#include "common/work.hpp"

namespace asio = boost::asio;

namespace file_reads {

namespace {

// Whether this process may use io_uring: compiled in, and the kernel lets us set up a ring
// (containers and hardened kernels often refuse).  Empty when it works, else the reason.
std::string io_uring_refusal() {
#if defined(BOOST_ASIO_HAS_IO_URING)
  io_uring ring{};
  if (const int rc = ::io_uring_queue_init(8, &ring, 0); rc < 0) {
    return std::string("io_uring_queue_init: ") + std::strerror(-rc);
  }
  ::io_uring_queue_exit(&ring);
  return {};
#else
  return "built without io_uring (meson option io_uring=disabled or liburing missing)";
#endif
}

#if defined(BOOST_ASIO_HAS_IO_URING)
// Reads the whole file through io_uring.  Each co_await suspends this coroutine until the
// kernel has filled the buffer; the thread runs other coroutines meanwhile.  Expected ends
// (eof) come back as values through as_tuple; real errors are thrown.
asio::awaitable<FileResult> read_file_async(const std::string& path, std::vector<char>& buffer) {
  asio::stream_file file(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  file.open(path, asio::stream_file::read_only, ec);  // open(2) itself is a blocking call in Asio
  if (ec) throw std::system_error(ec, "cannot open " + path);
  wb::Digest digest;
  std::uint64_t bytes = 0;
  for (;;) {
    auto [error, n] = co_await file.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::eof) break;
    if (error) throw std::system_error(error, "cannot read " + path);
    digest.update(buffer.data(), n);
    bytes += n;
  }
  co_return FileResult{digest.finish(), bytes};
}
#endif

}  // namespace

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  std::vector<std::uint64_t> digests(workload.size());
  std::size_t next_file = 0;  // one thread runs every coroutine: no atomics needed
  std::uint64_t bytes_read = 0;
  // The first failure stops the others from taking new files, and is rethrown after run().
  bool failed = false;
  std::exception_ptr first_error;

  const std::string refusal = params.backend == "pool" ? "--backend pool" : io_uring_refusal();
  if (params.backend == "io_uring" && !refusal.empty()) {
    throw std::runtime_error("--backend io_uring, but io_uring is unavailable: " + refusal);
  }
  const bool use_io_uring = refusal.empty();
  run.info("backend", use_io_uring ? "io_uring" : "thread pool (" + refusal + ")");

  asio::io_context io(1);  // concurrency hint 1: this thread alone runs it
  // The fallback: blocking reads on K pool threads, reached by hopping the coroutine there.
  std::optional<asio::thread_pool> pool;
  if (!use_io_uring) pool.emplace(static_cast<std::size_t>(params.concurrency));

  // One worker: takes the next file, reads it to the end, repeats.  Each co_await suspends
  // the worker coroutine; the thread runs the other workers meanwhile.
  // The workers reference this frame's locals: safe, because io.run() below returns only
  // after every one of them has finished.
  auto worker = [&](std::int64_t worker_id) -> asio::awaitable<void> {
    std::vector<char> buffer(static_cast<std::size_t>(params.chunk_kib) * 1024);
    for (std::size_t i; !failed && (i = next_file++) < workload.size();) {
      const auto task = static_cast<std::int64_t>(i);
      wb::span_begin(task, "read file " + std::to_string(i));
      const auto start = std::chrono::steady_clock::now();
      FileResult file;
#if defined(BOOST_ASIO_HAS_IO_URING)
      if (use_io_uring) file = co_await read_file_async(workload.paths()[i], buffer);
#endif
      if (!use_io_uring) {
        // A real executor hop: the blocking read runs as a coroutine on a pool thread, and this
        // worker resumes here, on the io_context, when it is done (with its exception, if any).
        const auto& path = workload.paths()[i];
        file = co_await asio::co_spawn(
            *pool, [&]() -> asio::awaitable<FileResult> { co_return read_file_blocking(path, buffer); },
            asio::use_awaitable);
      }
      run.latency().record((std::chrono::steady_clock::now() - start).count());
      wb::span_end(task, "read file " + std::to_string(i));
      digests[i] = file.digest;
      bytes_read += file.bytes;
      if (params.process_kind == "wait") {
        asio::steady_timer pause(io, std::chrono::milliseconds(params.process_ms));
        co_await pause.async_wait(asio::use_awaitable);  // suspends this worker only
      } else {
        wb::burn_cpu_ms(params.process_ms);  // holds the only thread: every worker waits
      }
    }
    wb::event(-1, "worker " + std::to_string(worker_id) + " done");
  };

  for (std::int64_t k = 0; k < params.concurrency; ++k) {
    // Exception policy: the completion handler keeps the first exception and stops the rest.
    asio::co_spawn(io, worker(k), [&](std::exception_ptr e) {
      if (e && !first_error) first_error = e;
      if (e) failed = true;
    });
  }
  io.run();  // returns when every worker has finished
  if (first_error) std::rethrow_exception(first_error);

  run.counter("bytes_read", static_cast<double>(bytes_read));
  run.counter("workers", static_cast<double>(params.concurrency));
  return {workload.size(), combine_digests(digests)};
}

}  // namespace file_reads
