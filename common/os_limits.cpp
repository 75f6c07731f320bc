#include "common/os_limits.hpp"

#include <fstream>
#include <sstream>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

namespace wb {

namespace {

std::int64_t read_sysctl(const char* path) {
  std::ifstream in(path);
  std::int64_t v = -1;
  if (!(in >> v)) return -1;
  return v;
}

// Threads on the whole machine (the kernel's scheduling entities: /proc/loadavg's "running/total").
std::int64_t machine_threads() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c, rt;
  in >> a >> b >> c >> rt;
  const auto slash = rt.find('/');
  return slash == std::string::npos ? -1 : std::stoll(rt.substr(slash + 1));
}

std::int64_t own_mappings() {
  std::ifstream in("/proc/self/maps");
  std::int64_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

// The folder of this process's cgroup that holds pids.max: cgroup v1's pids controller
// ("N:pids:/path" in /proc/self/cgroup) or else v2's unified one ("0::/path").
std::string cgroup_dir() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, v2;
  while (std::getline(in, line)) {
    if (const auto at = line.find(":pids:"); at != std::string::npos)
      return "/sys/fs/cgroup/pids" + line.substr(at + 6);
    if (line.rfind("0::", 0) == 0) v2 = "/sys/fs/cgroup" + line.substr(3);
  }
  return v2;
}

// Threads run by this user, for RLIMIT_NPROC (which counts a user's threads, not processes).
std::int64_t user_threads() {
  std::int64_t n = 0;
  DIR* d = opendir("/proc");
  if (!d) return -1;
  const auto uid = std::to_string(getuid());
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/status");
    std::string line;
    bool mine = false;
    while (std::getline(in, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream f(line.substr(4));
        std::string real;
        f >> real;
        mine = real == uid;
      } else if (mine && line.rfind("Threads:", 0) == 0) {
        n += std::stoll(line.substr(8));
      }
    }
  }
  closedir(d);
  return n;
}

}  // namespace

// A field of /proc/meminfo in kiB.
std::int64_t meminfo_kib(const std::string& field) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  std::int64_t kib = 0;
  std::string unit;
  while (in >> name >> kib) {
    std::getline(in, unit);
    if (name == field + ":") return kib;
  }
  return 0;
}

// Every limit the OS states on this process's threads, and the room each leaves now.
std::vector<OsLimit> thread_limits() {
  std::vector<OsLimit> out;
  const auto total = machine_threads();
  if (const auto v = read_sysctl("/proc/sys/kernel/pid_max"); v > 0 && total >= 0)
    out.push_back({"kernel.pid_max", v, v - total - 300});  // pids below 300 are not handed out again
  if (const auto v = read_sysctl("/proc/sys/kernel/threads-max"); v > 0 && total >= 0)
    out.push_back({"kernel.threads-max", v, v - total});
  rlimit nproc{};
  if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY && geteuid() != 0) {
    const auto v = static_cast<std::int64_t>(nproc.rlim_cur);
    out.push_back({"ulimit -u", v, v - user_threads()});
  }
  if (const auto dir = cgroup_dir(); !dir.empty()) {
    std::ifstream max_in(dir + "/pids.max");
    std::string max;
    if (max_in >> max && max != "max") {
      const auto v = std::stoll(max);
      out.push_back({"the cgroup's pids.max", v, v - read_sysctl((dir + "/pids.current").c_str())});
    }
  }
  if (const auto v = read_sysctl("/proc/sys/vm/max_map_count"); v > 0)
    out.push_back({"vm.max_map_count", v, (v - own_mappings()) / 2});  // a stack and its guard page each
  return out;
}

std::string describe(const std::vector<OsLimit>& limits) {
  std::string out;
  for (const auto& l : limits)
    out += (out.empty() ? "" : ", ") + l.name + " = " + std::to_string(l.value) + " (room for " +
           std::to_string(l.room) + " more)";
  return out.empty() ? "none stated" : out;
}

long raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<long>(rl.rlim_cur);
}

}  // namespace wb
