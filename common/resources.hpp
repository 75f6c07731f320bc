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
// the thread count every kSamplePeriod, which also sees threads the kernel adds (io_uring's
// io-wq workers) if they live that long.  The helper's own thread, CPU time and context switches
// are subtracted, so the figures describe the variant, not the harness; its CPU time is reported
// apart (harness_cpu_s).
//
// Why 50 ms and not 1 ms: on a 2-vCPU VM a sample costs ~14 us of CPU to read /proc/self/stat
// and ~20-100 us to sleep and wake (timer, VM exit), so a 1 ms sampler took 4-5 % of a core,
// 10 ms 0.7-0.9 %, 20 ms 0.4-0.8 %, 50 ms 0.13-0.34 % (tests/bench_sampler.cpp measures it on
// yours).  Subtracting its CPU keeps it out of cpu_user_s/cpu_sys_s, but not out of the cores it
// shares with the variant; at 50 ms it is under half a percent of one.  What the period costs in
// accuracy: nothing for memory (VmHWM is the kernel's own high-water mark, not a sample), nothing
// for threads made through pthread_create (counted as made), and a kernel-made thread that lives
// less than 50 ms may go unseen.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
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
  double harness_cpu_s = 0;        // the sampler's own CPU (user + sys), already left out of the above
};

// How often ResourceMeter samples the thread count (see the top of this file for why).
inline constexpr std::chrono::milliseconds kSamplePeriod{50};

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

// How many sockets this process has open now (the entries of /proc/self/fd that link to
// "socket:[...]"): what a timed-out call may have left open.  Sockets only: an io_context opens
// its epoll, eventfd and timerfd descriptors on first use, and keeps them.
std::int64_t open_sockets();

// The number of threads of this process (field 20 of /proc/self/stat: cheaper to produce and to
// parse than /proc/self/status).
std::int64_t read_thread_count();

class ResourceMeter {
 public:
  ResourceMeter() = default;
  explicit ResourceMeter(std::chrono::microseconds period) : period_(period) {}  // to measure the period
  ResourceMeter(const ResourceMeter&) = delete;
  ResourceMeter& operator=(const ResourceMeter&) = delete;
  ~ResourceMeter();

  void start();          // begins the measured region and the sampler
  ResourceUsage stop();  // ends both; call once, from the thread that called start()

 private:
  void sample_loop();
  void stop_sampler();

  std::chrono::microseconds period_{kSamplePeriod};
  std::chrono::steady_clock::time_point t0_{};
  rusage ru0_{};
  ResourceUsage partial_{};
  std::mutex mu_;  // guards running_, so stop() wakes the sampler at once, not a period later
  std::condition_variable wake_;
  bool running_ = false;
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
