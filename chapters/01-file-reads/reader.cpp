#include "chapters/01-file-reads/reader.hpp"

#include <cstring>
#include <stdexcept>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/stream_file.hpp>
#include <boost/asio/use_awaitable.hpp>

#if defined(BOOST_ASIO_HAS_IO_URING)
#include <liburing.h>
#endif

#include "common/digest.hpp"

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
// kernel has filled the buffer.  Expected ends (eof) come back as values through as_tuple;
// real errors are thrown.
asio::awaitable<FileResult> read_through_io_uring(const std::string& path, std::vector<char>& buffer) {
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

FileReader::FileReader(const Params& params, wb::Run& run) {
  const std::string refusal = params.backend == "pool" ? "--backend pool" : io_uring_refusal();
  if (params.backend == "io_uring" && !refusal.empty()) {
    throw std::runtime_error("--backend io_uring, but io_uring is unavailable: " + refusal);
  }
  use_io_uring_ = refusal.empty();
  run.info("backend", use_io_uring_ ? "io_uring" : "thread pool (" + refusal + ")");
  if (!use_io_uring_) pool_ = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(params.concurrency));
}

FileReader::~FileReader() {
  if (pool_) pool_->join();
}

asio::awaitable<FileResult> FileReader::read(const std::string& path, std::vector<char>& buffer) {
#if defined(BOOST_ASIO_HAS_IO_URING)
  if (use_io_uring_) co_return co_await read_through_io_uring(path, buffer);
#endif
  // A real executor hop: the blocking read runs as a coroutine on a pool thread, and the caller
  // resumes on its own executor when it is done (with its exception, if any).
  co_return co_await asio::co_spawn(
      *pool_, [&]() -> asio::awaitable<FileResult> { co_return read_file_blocking(path, buffer); },
      asio::use_awaitable);
}

}  // namespace file_reads
