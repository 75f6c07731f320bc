// What a variant run costs the process: wall and CPU time, context switches, peak memory and
// peak thread count.
//
// Peak RSS comes from the kernel's own high-water mark (VmHWM in /proc/self/status), reset at
// the start of the measured region by writing "5" to /proc/self/clear_refs, so workload set-up
// before it does not count.  getrusage's ru_maxrss would be wrong here: it survives fork+exec,
// so a child of a big parent (meson, the runner) would report the parent's peak.
//
// Peak threads has no kernel high-water mark.  Two sources, the larger wins: an exact count of
// the threads made through pthread_create (thread_census.cpp), and a helper thread that samples
// "Threads:" every millisecond, which also sees threads the kernel adds (io_uring workers).
// The helper's own thread, CPU time and context switches are subtracted, so the figures
// describe the variant, not the harness.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include <sys/resource.h>

namespace wb {

struct ResourceUsage {
  double wall_s = 0;
  double cpu_user_s = 0;
  double cpu_sys_s = 0;
  std::int64_t ctx_voluntary = 0;
  std::int64_t ctx_involuntary = 0;
  std::int64_t peak_rss_kib = 0;   // VmHWM over the measured region
  std::int64_t start_rss_kib = 0;  // VmRSS when the region began (the harness's baseline)
  std::int64_t peak_threads = 0;   // the main thread + the variant's; the harness's sampler and
                                   // threads that predate the region (a sanitizer's) excluded
  std::int64_t start_threads = 0;  // threads when the region began, the sampler excluded
  bool hwm_reset = false;          // whether clear_refs worked (else peak includes set-up)
};

// What the kernel keeps per thread outside the process's RSS, at least: its kernel stack
// (THREAD_SIZE, 16 KiB on x86-64).  task_struct, page tables and scheduler data come on top,
// so this is a floor, not the whole cost.  Chapters add it per thread to "memory per task".
inline constexpr double kKernelStackKib = 16;

// Fields of /proc/self/status, in kiB or plain counts; -1 when absent.
struct ProcStatus {
  std::int64_t vm_rss_kib = -1;
  std::int64_t vm_hwm_kib = -1;
  std::int64_t threads = -1;
};
ProcStatus read_proc_status();
ProcStatus read_proc_status(int pid);  // another process's

// Raises this process's soft limit on open descriptors to its hard limit (10,000 sockets need
// 10,000 descriptors; the usual soft limit is 1,024).  Returns the limit now in force.
long raise_fd_limit();

// How many sockets this process has open now (the entries of /proc/self/fd that link to
// "socket:[...]"): what a timed-out call may have left open.  Sockets only: an io_context opens
// its epoll, eventfd and timerfd descriptors on first use, and keeps them.
std::int64_t open_sockets();

class ResourceMeter {
 public:
  ResourceMeter() = default;
  ResourceMeter(const ResourceMeter&) = delete;
  ResourceMeter& operator=(const ResourceMeter&) = delete;
  ~ResourceMeter();

  void start();          // begins the measured region and the sampler
  ResourceUsage stop();  // ends both; call once, from the thread that called start()

 private:
  void sample_loop();

  std::chrono::steady_clock::time_point t0_{};
  rusage ru0_{};
  ResourceUsage partial_{};
  std::atomic<bool> running_{false};
  std::atomic<std::int64_t> peak_threads_{0};
  rusage sampler_ru_{};  // the sampler's own usage, written by it before it exits
  std::thread sampler_;
};

// The same figures for another process — a server under load in a process of its own, whose
// cost is the one to report, not the load generator's: peak RSS from its VmHWM (reset at
// start through its clear_refs), peak threads sampled every millisecond, CPU from
// /proc/PID/stat (all its threads).  Context switches are not taken: the kernel keeps them per
// thread, and the threads of a thread-per-connection server come and go.
class ProcessWatch {
 public:
  ProcessWatch() = default;
  ProcessWatch(const ProcessWatch&) = delete;
  ProcessWatch& operator=(const ProcessWatch&) = delete;
  ~ProcessWatch();

  void start(int pid);
  ResourceUsage stop();

 private:
  int pid_ = -1;
  std::chrono::steady_clock::time_point t0_{};
  double user0_ = 0, sys0_ = 0;
  ResourceUsage partial_{};
  std::atomic<bool> running_{false};
  std::atomic<std::int64_t> peak_threads_{0};
  std::thread sampler_;
};

}  // namespace wb
