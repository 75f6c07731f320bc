#include "chapters/09-blocking-in-the-loop/scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "common/files.hpp"
#include "common/options.hpp"

namespace blocking_in_the_loop {

using std::chrono::microseconds;
using std::chrono::milliseconds;

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c(
      {.name = "blocking-in-the-loop",
       .title = "Blocking in the event loop: one blocking call stalls every task on the thread",
       .sections = {"28"},
       .claims = {"C26"},
       .ops_unit = "tick",
       .variants = {{"sync", wb::Model::threads, "a thread per task: a blocking call stalls its own thread only"},
                    {"async-blocking", wb::Model::coroutines,
                     "the pitfall: coroutines on one thread, the blocking call made on the loop thread"},
                    {"async-offload", wb::Model::coroutines,
                     "the blocking call runs on an asio::thread_pool and is awaited"},
                    {"async-chunked", wb::Model::coroutines,
                     "the work in --slice-us slices, co_await post(...) between them"}},
       .baseline = "async-blocking",
       .headline = "lag_p99_ms"});
  c.knob("--heartbeats", params.heartbeats, "timer tasks ticking every --tick-ms (their lag is the loop's health)", 1,
         10'000, "tasks");
  c.knob("--tick-ms", params.tick_ms, "how often each heartbeat ticks", 1, 10'000, "ms");
  c.knob("--blockers", params.blockers, "tasks that make a blocking call every --every-ms", 0, 64, "tasks");
  c.knob("--block-ms", params.block_ms, "how long each blocking call takes", 1, 10'000, "ms");
  c.knob("--every-ms", params.every_ms, "each blocker starts a blocking call this often", 1, 60'000, "ms");
  c.knob("--block-kind", params.block_kind,
         "sleep (the thread waits), cpu (the thread computes), file (blocking reads of a scratch file)",
         {"sleep", "cpu", "file"});
  c.knob("--slice-us", params.slice_us, "async-chunked: work done between two yields to the loop", 1, 10'000'000, "us");
  c.knob("--duration-ms", params.duration_ms, "how long the heartbeats tick", 1, 600'000, "ms");
  c.knob("--file-kib", params.file_kib, "block-kind file: the scratch file read over and over", 64, 1'048'576, "KiB");
  c.text_knob("--tmp-dir", params.tmp_dir, "where the scratch file is written (and removed afterwards)",
              wb::must_be_directory("--tmp-dir"));
  c.counter_doc("ticks", "ticks", "heartbeat ticks that ran");
  c.counter_doc("ticks_missed", "ticks", "ticks skipped because the heartbeat woke after the next one was due");
  c.counter_doc("lag_p50_ms", "ms", "how late a tick woke against its schedule, median");
  c.counter_doc("lag_p99_ms", "ms", "the same, 99th percentile");
  c.counter_doc("lag_max_ms", "ms", "the latest tick");
  c.counter_doc("blocking_ops", "ops", "blocking operations completed");
  c.counter_doc("blocking_lost", "ops", "blocking operations scheduled but not completed: must be 0");
  c.counter_doc("block_ms", "ms", "--block-ms, for comparison");
  c.counter_doc("blocking_on_heartbeat_threads", "ops",
                "blocking operations that ran, wholly or in part, on a thread that also ran heartbeat ticks");
  c.series_doc("lag_ms", "ms", "each tick's lag");
  c.quick_sweep("block_kind", {"sleep", "cpu", "file"});
  c.invariant({.id = "blocking-stalls-the-loop",
               .claim = "C26",
               .where = {},
               .lhs = "async-blocking.lag_max_ms",
               .op = ">=",
               .factor = 0.9,
               .rhs = "async-blocking.block_ms",
               .why = "a tick due while the loop thread is inside a blocking call waits for the whole call"});
  // Where the blocking call runs is structure, the same on any machine; how late the heartbeats
  // are elsewhere is timing (a CPU quota parks every thread for up to half of each period), so
  // that is a claim's business (below), never an invariant.
  for (const char* v : {"async-blocking", "async-chunked"}) {
    c.invariant({.id = std::string(v) + "-blocks-on-the-loop",
                 .claim = "C26",
                 .where = {},
                 .lhs = std::string(v) + ".blocking_on_heartbeat_threads",
                 .op = ">=",
                 .rhs = std::string(v) + ".blocking_ops",
                 .why = "every blocking call runs on the thread that runs the heartbeats"});
  }
  for (const char* v : {"async-offload", "sync"}) {
    c.invariant({.id = std::string(v) + "-blocks-elsewhere",
                 .claim = "C26",
                 .where = {},
                 .lhs = std::string(v) + ".blocking_on_heartbeat_threads",
                 .op = "<=",
                 .rhs = "0",
                 .why = "no blocking call runs on a thread that runs heartbeats"});
  }
  for (const char* v : {"sync", "async-blocking", "async-offload", "async-chunked"}) {
    c.invariant({.id = std::string("nothing-lost-") + v,
                 .claim = "C26",
                 .where = {},
                 .lhs = std::string(v) + ".blocking_lost",
                 .op = "<=",
                 .rhs = "0",
                 .why = "every blocking operation runs to its end, wherever it runs"});
  }
  c.claim({.id = "offload-frees-the-loop",
           .claim = "C26",
           .where = {},
           .lhs = "async-offload.lag_p99_ms",
           .op = "<",
           .factor = 0.1,
           .rhs = "async-blocking.lag_p99_ms",
           .why = "moving the blocking call to a pool frees the loop's other tasks"});
  c.claim({.id = "a-thread-each-keeps-ticking",
           .claim = "C26",
           .where = {},
           .lhs = "sync.lag_p99_ms",
           .op = "<",
           .factor = 0.1,
           .rhs = "async-blocking.lag_p99_ms",
           .why = "with a thread per task, a blocking call stalls its own thread only"});
  c.claim({.id = "chunks-bound-the-stall",
           .claim = "C26",
           .where = {{"block_kind", "cpu"}},
           .lhs = "async-chunked.lag_max_ms",
           .op = "<",
           .factor = 0.25,
           .rhs = "async-blocking.lag_max_ms",
           .why = "CPU work cut into slices stalls the loop for a slice at a time, not for the whole call"});
  // workbench lab blocking-in-the-loop: what a student guesses before the run.
  const std::string dir = "chapters/09-blocking-in-the-loop/";
  c.prediction(
      {.id = "worst-lag",
       .question = "A heartbeat ticks every 5 ms on the loop while a coroutine calls a 100 ms blocking sleep on that "
                   "same loop: how late (ms) is the heartbeat at worst?",
       .claim = "C26",
       .where = {{"block_kind", "sleep"}},
       .measure = "async-blocking.lag_max_ms",
       .unit = "ms",
       .min = 0,
       .max = 100'000,
       .close = 1.5,
       .explain = {{dir + "async.cpp", "op.step(milliseconds(params.block_ms));  // THE PITFALL",
                    "the loop thread is stuck in it"},
                   {dir + "sync.cpp", "op.step(milliseconds(params.block_ms));", "a thread of its own blocks"}}});
  c.prediction(
      {.id = "steadiest",
       .question = "The blocking call is 100 ms of CPU work instead: which way keeps the heartbeat's p99 lag lowest?",
       .claim = "C26",
       .where = {{"block_kind", "cpu"}},
       .measure = "lowest lag_p99_ms",
       .choices = {"sync", "async-blocking", "async-offload", "async-chunked"},
       .explain = {{dir + "async.cpp", "co_await asio::co_spawn(pool, on_the_pool, asio::use_awaitable);",
                    "offload: the work on a pool"},
                   {dir + "async.cpp", "co_await asio::post(io, asio::use_awaitable);",
                    "chunked: a slice, then let the loop run"}}});
  return c;
}

Workload::Workload(const Params& params, const wb::Run& /*run*/) {
  if (params.block_kind != "file") return;
  dir_ = std::make_unique<wb::ScratchDir>(params.tmp_dir, "wb-blocking");
  const std::string path = dir_->path() + "/scratch";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + path);
  std::vector<char> chunk(64 * 1024);
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131);
  for (std::int64_t done = 0; done < params.file_kib * 1024; done += static_cast<std::int64_t>(chunk.size())) {
    if (::pwrite(fd_, chunk.data(), chunk.size(), done) != static_cast<ssize_t>(chunk.size()))
      throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  }
  bytes_ = params.file_kib * 1024;
}

Workload::~Workload() {
  if (fd_ >= 0) ::close(fd_);
}

Blocking::Blocking(const Params& params, const Workload& workload)
    : params_(params), workload_(workload), left_(milliseconds(params.block_ms)) {}

bool Blocking::step(microseconds budget) {
  const auto slice = std::min(budget, left_);
  const auto until = Clock::now() + slice;
  if (threads_.empty() || threads_.back() != std::this_thread::get_id()) threads_.push_back(std::this_thread::get_id());
  if (params_.block_kind == "sleep") {
    std::this_thread::sleep_until(until);  // the thread does nothing, and nothing else runs on it
  } else if (params_.block_kind == "cpu") {
    do {
      for (int i = 0; i < 1000; ++i) sink_ = sink_ * 6364136223846793005ULL + 1442695040888963407ULL;
    } while (Clock::now() < until);
  } else {
    // Blocking reads, 64 KiB at a time, round the scratch file (from the page cache: the time
    // goes to the kernel copying, as with any file read that does not wait for a disk).
    char buffer[64 * 1024];
    do {
      const auto n = ::pread(workload_.file_descriptor(), buffer, sizeof buffer, offset_);
      if (n < 0) throw std::system_error(errno, std::generic_category(), "pread");
      sink_ += static_cast<unsigned char>(buffer[0]);
      offset_ = (offset_ + static_cast<std::int64_t>(sizeof buffer)) % workload_.file_bytes();
    } while (Clock::now() < until);
  }
  left_ -= slice;
  return left_ <= microseconds::zero();
}

Beats::Beats(const Params& params, Clock::time_point start, wb::Run& run)
    : params_(params), start_(start), end_(start + milliseconds(params.duration_ms)), run_(run) {}

Clock::time_point Beats::due(std::int64_t h, std::int64_t k) const {
  const auto tick = std::chrono::duration_cast<Clock::duration>(milliseconds(params_.tick_ms));
  return start_ + tick * h / params_.heartbeats + tick * k;
}

std::int64_t Beats::ticked(std::int64_t h, std::int64_t k) {
  const auto now = Clock::now();
  const auto lag = now - due(h, k);
  run_.latency().record(lag.count());
  run_.sample("lag_ms", std::chrono::duration<double, std::milli>(lag).count());
  wb::event(h, "tick");
  ++ticks_;
  {
    const std::lock_guard lock(threads_mu_);
    tick_threads_.insert(std::this_thread::get_id());
  }
  std::int64_t next = k + 1;
  while (due(h, next) <= now && due(h, next) < end_) {  // woke after the next one was due: skipped
    ++next;
    ++missed_;
  }
  return next;
}

void Beats::blocked(const Blocking& op) {
  ++blocking_ops_;
  const std::lock_guard lock(threads_mu_);
  blocking_threads_.push_back(op.threads());
}

wb::Outcome Beats::record(const Params& params) {
  const auto lag = run_.latency().summary();
  std::int64_t on_heartbeat_threads = 0;
  {
    const std::lock_guard lock(threads_mu_);
    for (const auto& ts : blocking_threads_)
      on_heartbeat_threads += std::any_of(ts.begin(), ts.end(), [&](auto t) { return tick_threads_.count(t) > 0; });
  }
  const std::int64_t per_blocker = (params.duration_ms + params.every_ms - 1) / params.every_ms;
  const auto lost = params.blockers * per_blocker - blocking_ops_.load();
  run_.counter("ticks", static_cast<double>(ticks_.load()));
  run_.counter("ticks_missed", static_cast<double>(missed_.load()));
  run_.counter("lag_p50_ms", lag.p50_us / 1000.0);
  run_.counter("lag_p99_ms", lag.p99_us / 1000.0);
  run_.counter("lag_max_ms", lag.max_us / 1000.0);
  run_.counter("blocking_ops", static_cast<double>(blocking_ops_.load()));
  run_.counter("blocking_lost", static_cast<double>(lost));
  run_.counter("block_ms", static_cast<double>(params.block_ms));
  run_.counter("blocking_on_heartbeat_threads", static_cast<double>(on_heartbeat_threads));
  return {static_cast<std::uint64_t>(ticks_.load()),
          "blocking_ops=" + std::to_string(blocking_ops_.load()) + " lost=" + std::to_string(lost)};
}

}  // namespace blocking_in_the_loop
