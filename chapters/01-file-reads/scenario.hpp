// Chapter 01 — reading files (§1): what both variants share.
//
// The scenario: read N files completely, K at a time, and digest their bytes.  sync.cpp does it
// with blocking read(2) calls on K threads; async.cpp with K coroutines on one thread whose
// reads go through io_uring (asio::stream_file).  Everything that is not the concurrency model
// (the options, the files, the digest, the simulated work) lives here, once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/chapter.hpp"
#include "common/files.hpp"

namespace file_reads {

struct Params {
  std::int64_t files = 64;           // generated files
  std::int64_t size_kib = 256;       // size of each generated file
  std::string dir;                   // read this directory's files instead of generating
  std::string tmp_dir = "/var/tmp";  // where generated files go (/tmp may be tmpfs: no cold cache)
  std::string cache = "warm";        // warm | cold (page cache dropped for the files first)
  std::int64_t process_ms = 0;       // simulated work after each file ...
  std::string process_kind = "cpu";  // ... cpu: a busy core; wait: a pause (a call to a service)
  std::int64_t concurrency = 1;      // files in flight: threads (sync) or coroutines (async)
  std::int64_t chunk_kib = 64;       // bytes asked for by each read call
  std::string backend = "auto";      // async only: io_uring | pool | auto
};

wb::Chapter make_chapter(Params& params);

// The files to read.  Generated files (seeded content) are removed by the destructor; a --dir
// is only read.  Throws wb::UsageError for input the user can fix.
class Workload : public wb::Workload {
 public:
  Workload(const Params& params, const wb::Run& run);  // the files' content is drawn from run.seed()
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;
  ~Workload();

  const std::vector<std::string>& paths() const { return paths_; }
  std::size_t size() const { return paths_.size(); }
  std::uint64_t total_bytes() const { return total_bytes_; }
  // Counters about the set-up (how much of it was in the page cache when the run began) and
  // the rate the measured region read at.
  void finish(wb::Run& run) const;

 private:
  std::unique_ptr<wb::ScratchDir> generated_;  // null for --dir
  std::vector<std::string> paths_;
  std::uint64_t total_bytes_ = 0;
  double resident_pct_ = 0;
  std::string filesystem_;
};

struct FileResult {
  std::uint64_t digest = 0;
  std::uint64_t bytes = 0;
};

// Reads the whole file with blocking read(2) calls of buffer.size() bytes and returns the
// digest of its bytes.  The calling thread is parked in the kernel for every call that has to
// wait for the disk (§1.1).  Throws std::system_error naming the file on failure.
FileResult read_file_blocking(const std::string& path, std::vector<char>& buffer);

// The run's result: the per-file digests combined in file order, so the order in which
// files happened to finish does not matter.
std::string combine_digests(const std::vector<std::uint64_t>& per_file);

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run);
wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run);

}  // namespace file_reads
