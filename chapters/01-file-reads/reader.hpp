// Chapter 01 — how a coroutine reads a file, which depends on what the kernel offers: through
// io_uring (asio::stream_file) where the kernel lets this process set up a ring, else on a pool
// of blocking threads the coroutine hops to and back from (what Tokio's fs does for every
// file read).  A lesson of its own, kept out of async.cpp so that the twins differ only in how
// they wait.  Included by async.cpp and reader.cpp only: it brings Asio.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "chapters/01-file-reads/scenario.hpp"

namespace file_reads {

class FileReader {
 public:
  // Chooses the way (--backend io_uring | pool | auto) and records it as the trial's `backend`
  // info; throws std::runtime_error when io_uring was asked for and is unavailable.
  FileReader(const Params& params, wb::Run& run);
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader();

  // Reads the whole file into its digest.  The calling coroutine is suspended while the kernel
  // (or a pool thread) works; its thread runs other coroutines meanwhile.  Throws
  // std::system_error naming the file on failure.
  boost::asio::awaitable<FileResult> read(const std::string& path, std::vector<char>& buffer);

 private:
  bool use_io_uring_ = false;
  std::unique_ptr<boost::asio::thread_pool> pool_;  // the fallback; null with io_uring
};

}  // namespace file_reads
