// The limits the OS puts on this process, read in one place: how many more threads it may start
// (chapter 10's ceiling stops below the tightest; a thread the OS refuses is reported with them),
// the descriptors it may open, and the kernel's own memory figures.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wb {

struct OsLimit {
  std::string name;    // "kernel.pid_max", "ulimit -u", "the cgroup's pids.max", ...
  std::int64_t value;  // the limit as stated
  std::int64_t room;   // how many more threads it allows now
};

// Every limit the OS states on this process's threads, and the room each leaves now:
// kernel.pid_max and kernel.threads-max (less every thread on the machine), ulimit -u (for a
// user other than root: less the user's threads), the cgroup's pids.max (v1's pids controller or
// v2's unified hierarchy, less pids.current), and vm.max_map_count (two mappings a stack).
std::vector<OsLimit> thread_limits();

// "kernel.pid_max = 32768 (room for 31900 more), ..." — for an error message.
std::string describe(const std::vector<OsLimit>& limits);

// A field of /proc/meminfo in kiB ("KernelStack", "MemAvailable"); 0 when it is missing.
std::int64_t meminfo_kib(const std::string& field);

// Raises this process's soft limit on open descriptors to its hard limit, and returns the
// limit now in force (-1 when it cannot be read).  5,000 connections need 5,000 descriptors;
// the usual soft limit is 1,024.
long raise_fd_limit();

}  // namespace wb
