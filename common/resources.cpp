#include "common/resources.hpp"

#include "common/thread_census.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <iterator>
#include <sstream>

#include <sys/time.h>
#include <unistd.h>

namespace wb {

namespace {

// utime and stime of a whole process (every thread), in seconds: fields 14 and 15 of
// /proc/PID/stat, counted after the ")" that ends the command name (which may hold spaces).
std::pair<double, double> process_cpu(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return {0, 0};
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return {utime / tick, stime / tick};
}

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

// Parses "Name:   1234 kB" lines; the cheapest way the kernel offers these numbers.
std::int64_t field(const std::string& line, const char* name) {
  const std::string key = name;
  if (line.compare(0, key.size(), key) != 0) return -1;
  return std::stoll(line.substr(key.size()));
}

}  // namespace

ProcStatus read_proc_status() { return read_proc_status(0); }

ProcStatus read_proc_status(int pid) {
  ProcStatus s;
  std::ifstream in(pid > 0 ? "/proc/" + std::to_string(pid) + "/status" : std::string("/proc/self/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (auto v = field(line, "VmRSS:"); v >= 0)
      s.vm_rss_kib = v;
    else if (auto h = field(line, "VmHWM:"); h >= 0)
      s.vm_hwm_kib = h;
    else if (auto t = field(line, "Threads:"); t >= 0)
      s.threads = t;
  }
  return s;
}

std::int64_t read_thread_count() {
  char buf[1024];
  std::FILE* f = std::fopen("/proc/self/stat", "re");
  if (f == nullptr) return -1;
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields are counted after the ")" that ends the command name (which may hold spaces).
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  int field_no = 2;
  for (; *p != '\0'; ++p) {
    if (*p == ' ' && ++field_no == 20) return std::strtoll(p + 1, nullptr, 10);
  }
  return -1;
}

std::int64_t open_sockets() {
  std::int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::end(it);
       it.increment(ec)) {
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(it->path(), link_ec);
    if (!link_ec && target.string().rfind("socket:", 0) == 0) ++n;
  }
  return n;
}

ResourceMeter::~ResourceMeter() { stop_sampler(); }

void ResourceMeter::stop_sampler() {
  if (!sampler_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    running_ = false;
  }
  wake_.notify_all();
  sampler_.join();
}

void ResourceMeter::start() {
  partial_ = {};
  {
    // Resetting the high-water mark needs Linux >= 4.0; where it fails, the peak includes what
    // the process touched before the region, and the record says so.
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    partial_.hwm_reset = static_cast<bool>(clear);
  }
  running_ = true;
  sampler_ = std::thread([this] { sample_loop(); });
  // Read after the sampler exists: a runtime that starts a helper thread along with the first
  // extra thread (TSan does) has done so by now, and the helper counts as "before".
  const auto st = read_proc_status();
  partial_.start_rss_kib = st.vm_rss_kib;
  partial_.start_threads = st.threads - 1;  // minus the sampler
  thread_census_reset();
  getrusage(RUSAGE_SELF, &ru0_);
  t0_ = std::chrono::steady_clock::now();
}

void ResourceMeter::sample_loop() {
  std::unique_lock lock(mu_);
  while (running_) {
    lock.unlock();
    const auto t = read_thread_count() - 1;  // minus this sampler
    auto seen = peak_threads_.load(std::memory_order_relaxed);
    while (t > seen && !peak_threads_.compare_exchange_weak(seen, t)) {
    }
    lock.lock();
    wake_.wait_for(lock, period_, [this] { return !running_; });
  }
  getrusage(RUSAGE_THREAD, &sampler_ru_);
}

ResourceUsage ResourceMeter::stop() {
  const auto t1 = std::chrono::steady_clock::now();
  // One last sample from here, so a variant shorter than the sampling period is still seen.
  const auto st = read_proc_status();
  stop_sampler();
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);

  ResourceUsage u = partial_;
  u.wall_s = std::chrono::duration<double>(t1 - t0_).count();
  // The region's CPU is the process's less the sampler thread's.  The kernel splits each clock
  // into user and system time from tick samples, the process's and the thread's separately, so
  // the two splits need not agree: subtracting part by part can leave one part negative, and
  // clamping it alone would add CPU that nobody spent (up to a tick, 10 ms, seen inside a CPU
  // quota).  The total is subtracted whole; the split follows the process's system share.
  const double user = seconds(ru1.ru_utime) - seconds(ru0_.ru_utime) - seconds(sampler_ru_.ru_utime);
  const double sys = seconds(ru1.ru_stime) - seconds(ru0_.ru_stime) - seconds(sampler_ru_.ru_stime);
  const double total = std::max(0.0, user + sys);
  u.cpu_sys_s = std::clamp(sys, 0.0, total);
  u.cpu_user_s = total - u.cpu_sys_s;
  u.ctx_voluntary = ru1.ru_nvcsw - ru0_.ru_nvcsw - sampler_ru_.ru_nvcsw;
  u.ctx_involuntary = ru1.ru_nivcsw - ru0_.ru_nivcsw - sampler_ru_.ru_nivcsw;
  u.harness_cpu_s = seconds(sampler_ru_.ru_utime) + seconds(sampler_ru_.ru_stime);
  u.peak_rss_kib = read_proc_status().vm_hwm_kib;
  // Threads that were there before the region besides the main thread belong to the runtime,
  // not the variant (TSan's helper thread, say): the sampled peak leaves them out.
  const std::int64_t before = std::max<std::int64_t>(0, u.start_threads - 1);
  u.peak_threads = std::max<std::int64_t>(peak_threads_.load(), st.threads - 1) - before;
  // The census saw every pthread the variant made, however short-lived; it counted the
  // sampler too (it was live throughout), so one less.
  if (thread_census_active()) u.peak_threads = std::max<std::int64_t>(u.peak_threads, thread_census_peak() - 1);
  return u;
}

ProcessWatch::~ProcessWatch() {
  if (sampler_.joinable()) {
    running_.store(false);
    sampler_.join();
  }
}

void ProcessWatch::start(int pid) {
  pid_ = pid;
  partial_ = {};
  {
    std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
    clear << "5";
    clear.flush();
    partial_.hwm_reset = static_cast<bool>(clear);
  }
  const auto st = read_proc_status(pid);
  partial_.start_rss_kib = st.vm_rss_kib;
  partial_.start_threads = st.threads;
  peak_threads_ = st.threads;
  std::tie(user0_, sys0_) = process_cpu(pid);
  running_.store(true);
  sampler_ = std::thread([this] {
    while (running_.load(std::memory_order_relaxed)) {
      const auto t = read_proc_status(pid_).threads;
      auto seen = peak_threads_.load(std::memory_order_relaxed);
      while (t > seen && !peak_threads_.compare_exchange_weak(seen, t)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  t0_ = std::chrono::steady_clock::now();
}

ResourceUsage ProcessWatch::stop() {
  const auto t1 = std::chrono::steady_clock::now();
  running_.store(false);
  if (sampler_.joinable()) sampler_.join();
  const auto st = read_proc_status(pid_);
  const auto [user1, sys1] = process_cpu(pid_);
  ResourceUsage u = partial_;
  u.wall_s = std::chrono::duration<double>(t1 - t0_).count();
  u.cpu_user_s = std::max(0.0, user1 - user0_);
  u.cpu_sys_s = std::max(0.0, sys1 - sys0_);
  u.peak_rss_kib = st.vm_hwm_kib;
  u.peak_threads = std::max<std::int64_t>(peak_threads_.load(), st.threads);
  return u;
}

}  // namespace wb
