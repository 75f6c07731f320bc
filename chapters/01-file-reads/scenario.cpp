#include "chapters/01-file-reads/scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/digest.hpp"
#include "common/files.hpp"
#include "common/options.hpp"
#include "common/work.hpp"

namespace file_reads {

namespace fs = std::filesystem;

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "file-reads",
                 .title = "Reading files: blocking read(2) on threads vs coroutines on io_uring",
                 .sections = {"1.1", "1.2", "2.2", "3.1", "3.2"},
                 .claims = {"C1", "C2", "C3", "C6", "C7"},
                 .ops_unit = "file"});
  c.knob("--files", params.files, "how many files to generate", 1, 1'000'000, "files");
  c.knob("--size-kib", params.size_kib, "size of each generated file", 1, 1024 * 1024, "KiB");
  c.text_knob("--dir", params.dir, "read the files of this directory instead of generating them",
              wb::must_be_directory("--dir"));
  c.text_knob("--tmp-dir", params.tmp_dir, "where generated files are written (and removed afterwards)",
              wb::must_be_directory("--tmp-dir"));
  c.knob("--cache", params.cache, "warm: files as the page cache has them; cold: dropped from it first",
         {"warm", "cold"});
  c.knob("--process-ms", params.process_ms, "simulated work after each file is read", 0, 60'000, "ms");
  c.knob("--process-kind", params.process_kind,
         "cpu: the work keeps a core busy; wait: it waits (as for a reply from a service), holding no core",
         {"cpu", "wait"});
  c.knob("--concurrency", params.concurrency, "files in flight at once: threads (sync), coroutines (async)", 1, 4096,
         "files");
  c.knob("--chunk-kib", params.chunk_kib, "bytes asked for by each read call", 1, 16 * 1024, "KiB");
  c.knob("--backend", params.backend,
         "async only: io_uring, a blocking thread pool (as Tokio's fs does), or auto (io_uring when it works)",
         {"auto", "io_uring", "pool"});
  c.counter_doc("bytes_read", "bytes", "bytes read from all files");
  c.counter_doc("mib_per_s", "MiB/s", "bytes read per second of wall time");
  c.counter_doc("cache_resident_pct", "%", "share of the files' pages in the page cache when the run began");
  c.counter_doc("workers", "count", "threads (sync) or coroutines (async) that read files");
  // The quick run: warm and cold reads one at a time and 16 in flight; and reads whose work is
  // a 5 ms wait (as for a reply from a service), where one at a time is plainly the sum.
  for (const char* cache : {"warm", "cold"}) {
    for (const char* concurrency : {"1", "16"}) c.quick_point({{"cache", cache}, {"concurrency", concurrency}});
  }
  for (const char* concurrency : {"1", "16"})
    c.quick_point({{"process_kind", "wait"}, {"process_ms", "5"}, {"concurrency", concurrency}});

  c.invariant({.id = "same-result",
               .claim = "C3",
               .where = {},
               .lhs = "async.result_digest",
               .op = "==",
               .rhs = "sync.result_digest",
               .why = "both variants read the same bytes, whatever order the files finished in"});
  // Not "async <= a quarter of sync's threads": how many of the blocking variant's 16 threads
  // coexist depends on how fast the machine starts them against how fast a warm read ends.
  // What holds anywhere is the coroutine side's count — where io_uring ran; the thread-pool
  // fallback (a kernel that refuses io_uring) has a thread per read in flight, like sync.
  c.invariant({.id = "few-threads-for-many-reads",
               .claim = "C6",
               .where = {{"concurrency", 16}},
               .lhs = "async.peak_threads",
               .op = "<=",
               .rhs = "2",
               .why = "16 reads in flight cost the blocking variant 16 threads; io_uring keeps them in flight "
                      "from one",
               .only_if = {{"backend", "io_uring"}}});
  // A tie, so context for C7 rather than evidence: "more efficient" is not what happens here.
  c.claim({.id = "one-thread-keeps-up",
           .claim = "C7",
           .where = {{"concurrency", 16}, {"cache", "cold"}},
           .lhs = "async.wall_s",
           .op = "~",
           .factor = 1.25,
           .rhs = "sync.wall_s",
           .why = "from disk, one io_uring thread reads about as fast as 16 blocking threads (it is not "
                  "faster: the disk is the limit)"});
  // C1 and C2 on reads that wait 5 ms each, 64 of them.  One at a time, the wall time is the
  // latencies added up (it cannot be less; "the sum" says it is not more than a tenth over);
  // with 16 in flight the waits overlap, and the wall time comes nearer the slowest read than
  // the sum: under half of it.
  const nlohmann::json waiting = {{"process_kind", "wait"}, {"process_ms", 5}};
  for (const char* variant : {"sync", "async"}) {
    const std::string v = variant;
    c.claim({.id = "one-after-another-is-the-sum-" + v,
             .claim = "C1",
             .where = waiting,
             .lhs = v + ".wall_s",
             .op = "<=",
             .factor = 1.1,
             .rhs = v + ".latency_sum_s",
             .why = "each read holds its worker until it is done, so 64 of them one after another take their sum",
             .lhs_where = {{"concurrency", 1}},
             .rhs_where = {{"concurrency", 1}}});
    c.claim({.id = "in-flight-together-is-not-the-sum-" + v,
             .claim = "C2",
             .where = waiting,
             .lhs = v + ".wall_s",
             .op = "<",
             .factor = 0.5,
             .rhs = v + ".latency_sum_s",
             .why = "16 reads in flight wait together: the total nears the slowest read, not the sum",
             .lhs_where = {{"concurrency", 16}},
             .rhs_where = {{"concurrency", 16}}});
  }
  for (const char* variant : {"sync", "async"}) {
    c.claim({.id = std::string("overlap-beats-sequence-") + variant,
             .claim = "C2",
             .where = {{"cache", "cold"}},
             .lhs = std::string(variant) + ".wall_s",
             .op = "<",
             .factor = 0.85,
             .rhs = std::string(variant) + ".wall_s",
             .why = "16 reads in flight finish sooner than the same reads one after the other: the waits "
                    "overlap (sections 1.1 vs 1.2), whichever model keeps them in flight",
             .lhs_where = {{"concurrency", 16}},
             .rhs_where = {{"concurrency", 1}}});
  }

  // workbench lab file-reads: what a student guesses before the run.
  const std::string dir = "chapters/01-file-reads/";
  c.prediction({.id = "threads",
                .question = "16 cold files in flight: how many threads will the blocking variant's process have "
                            "at its peak?",
                .claim = "C6",
                .where = {{"cache", "cold"}, {"concurrency", 16}},
                .measure = "sync.peak_threads",
                .unit = "threads",
                .min = 1,
                .max = 100'000,
                .close = 1.5,
                .explain = {{dir + "sync.cpp", "wb::run_on_threads(params.concurrency, worker", "a thread per read"},
                            {dir + "async.cpp", "asio::co_spawn(io, worker(k)", "a coroutine per read, one thread"}}});
  c.prediction(
      {.id = "first",
       .question = "16 cold files in flight: which finishes the 64 files first, 16 blocking threads "
                   "(sync) or one thread keeping 16 reads in io_uring (async)?",
       .claim = "C7",
       .where = {{"cache", "cold"}, {"concurrency", 16}},
       .measure = "lowest wall_s",
       .choices = {"sync", "async"},
       .explain = {{dir + "sync.cpp", "read_file_blocking(workload.paths()[i], buffer);", "parks a thread"},
                   {dir + "async.cpp", "co_await reader.read(workload.paths()[i], buffer);", "suspends a coroutine"}}});
  c.prediction(
      {.id = "overlap",
       .question = "64 files that each wait 5 ms after the read, 16 in flight: how many times shorter "
                   "than the 64 waits added up is the async variant's wall time?",
       .claim = "C2",
       .where = {{"process_kind", "wait"}, {"process_ms", 5}, {"concurrency", 16}},
       .measure = "async.latency_sum_s / async.wall_s",
       .unit = "x",
       .min = 0.1,
       .max = 1000,
       .close = 1.5,
       .explain = {
           {dir + "sync.cpp", "std::this_thread::sleep_for(std::chrono::milliseconds(params.process_ms));",
            "the wait parks one of 16 threads"},
           {dir + "async.cpp", ".async_wait(asio::use_awaitable);", "the wait suspends one of 16 coroutines"}}});
  return c;
}

// ---------------------------------------------------------------------------------------------

namespace {

// Drops the file's clean pages from the page cache (cold) and says how much of it is resident.
struct CacheState {
  std::uint64_t pages = 0;
  std::uint64_t resident = 0;
};

CacheState prepare_cache(const std::string& path, bool cold, bool was_written) {
  CacheState s;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return s;
  // Dirty pages cannot be dropped: a file we just wrote must reach the disk first.
  if (cold && was_written) ::fdatasync(fd);
  if (cold) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const auto len = static_cast<std::size_t>(st.st_size);
    if (void* m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0); m != MAP_FAILED) {
      std::vector<unsigned char> vec((len + page - 1) / page);
      if (::mincore(m, len, vec.data()) == 0) {
        s.pages = vec.size();
        s.resident =
            static_cast<std::uint64_t>(std::count_if(vec.begin(), vec.end(), [](unsigned char c) { return c & 1; }));
      }
      ::munmap(m, len);
    }
  }
  ::close(fd);
  return s;
}

std::string filesystem_of(const std::string& path) {
  struct statfs sf {};
  if (::statfs(path.c_str(), &sf) != 0) return "unknown";
  switch (static_cast<unsigned long>(sf.f_type)) {
    case TMPFS_MAGIC:
      return "tmpfs";
    case EXT4_SUPER_MAGIC:
      return "ext4";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(sf.f_type));
      return buf;
    }
  }
}

void write_all(int fd, const char* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    const auto w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "cannot write " + path);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

Workload::Workload(const Params& params, const wb::Run& run) {
  const std::int64_t seed = run.seed();
  const bool cold = params.cache == "cold";
  if (!params.dir.empty()) {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(params.dir, ec)) {
      // Regular files and symlinks (a dangling one is a file that vanished: reading it fails
      // with a clear message, which is what a test of that case needs).
      const auto st = entry.symlink_status().type();
      if (st == fs::file_type::regular || st == fs::file_type::symlink) {
        if (st == fs::file_type::symlink && fs::is_directory(entry.path())) continue;
        found.push_back(entry.path().string());
      }
    }
    if (ec) throw wb::UsageError("cannot list --dir " + params.dir + ": " + ec.message());
    if (found.empty()) throw wb::UsageError("--dir " + params.dir + " holds no files to read");
    std::sort(found.begin(), found.end());
    paths_ = std::move(found);
  } else {
    generated_ = std::make_unique<wb::ScratchDir>(params.tmp_dir, "wb-file-reads");
    const auto bytes = static_cast<std::size_t>(params.size_kib) * 1024;
    std::vector<char> content(bytes);
    for (std::int64_t i = 0; i < params.files; ++i) {
      wb::SplitMix64 rng(static_cast<std::uint64_t>(seed) * 1'000'003 + static_cast<std::uint64_t>(i));
      for (std::size_t off = 0; off < bytes; off += 8) {
        const auto v = rng.next();
        std::memcpy(content.data() + off, &v, std::min<std::size_t>(8, bytes - off));
      }
      char name[32];
      std::snprintf(name, sizeof name, "/file-%06lld.bin", static_cast<long long>(i));
      const std::string path = generated_->path() + name;
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + path);
      try {
        write_all(fd, content.data(), content.size(), path);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
      paths_.push_back(path);
    }
  }
  filesystem_ = filesystem_of(paths_.front());
  std::uint64_t pages = 0, resident = 0;
  for (const auto& path : paths_) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (!ec) total_bytes_ += size;
    const auto s = prepare_cache(path, cold, generated_ != nullptr);
    pages += s.pages;
    resident += s.resident;
  }
  resident_pct_ = pages ? 100.0 * static_cast<double>(resident) / static_cast<double>(pages) : 0.0;
}

Workload::~Workload() = default;  // the ScratchDir removes generated files

void Workload::finish(wb::Run& run) const {
  run.counter("cache_resident_pct", resident_pct_);
  run.info("filesystem", filesystem_);
  const double wall = run.record().metrics.wall_s;
  const double bytes =
      static_cast<double>(run.record().counters.count("bytes_read") ? run.record().counters.at("bytes_read") : 0);
  run.counter("mib_per_s", wall > 0 ? bytes / wall / (1024.0 * 1024.0) : 0.0);
}

FileResult read_file_blocking(const std::string& path, std::vector<char>& buffer) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  wb::Digest digest;
  std::uint64_t bytes = 0;
  for (;;) {
    const auto n = ::read(fd, buffer.data(), buffer.size());  // parks this thread until data is there
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "cannot read " + path);
    }
    digest.update(buffer.data(), static_cast<std::size_t>(n));
    bytes += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return {digest.finish(), bytes};
}

std::string combine_digests(const std::vector<std::uint64_t>& per_file) {
  wb::Digest d;
  for (const auto v : per_file) d.update_u64(v);
  return wb::Digest::hex(d.finish());
}

}  // namespace file_reads
