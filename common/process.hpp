// Starting a child process and waiting for it with a deadline: the runner's trials, a
// chapter's --mode all (each variant in a process of its own), and the tests use it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wb {

struct ProcessSpec {
  std::vector<std::string> argv;              // argv[0] is the executable path
  std::string stdout_path;                    // empty: inherit; else the child's stdout goes to this file
  std::string stderr_path;                    // likewise for stderr
  std::chrono::milliseconds timeout{0};       // 0: no limit
  bool own_process_group = true;              // so a timeout can kill the child and all it started
  const std::atomic<bool>* cancel = nullptr;  // when it turns true, the child is killed
  std::function<void(int pid)> on_start;      // called with the child's pid once it runs
};

struct ProcessResult {
  bool started = false;
  std::string start_error;  // why the child could not be started
  int exit_code = -1;       // when it exited
  int signal = 0;           // when a signal ended it
  bool timed_out = false;   // killed by us at the deadline
  bool cancelled = false;   // killed by us because *cancel turned true
  double elapsed_s = 0;
  bool ok() const { return started && !timed_out && !cancelled && signal == 0 && exit_code == 0; }
  std::string describe() const;  // "exit 1", "killed by signal 11 (Segmentation fault)", ...
};

ProcessResult run_process(const ProcessSpec& spec);

// A child that runs beside us (a service), as opposed to run_process's run-to-completion.
// Its stdout is a pipe we read lines from; the destructor stops it (SIGTERM, then SIGKILL after
// a grace period) and reaps it.  The child is also killed if this process dies first.
class ChildProcess {
 public:
  // Throws std::runtime_error when it cannot start.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  int pid() const { return pid_; }
  // The next line of its stdout, without the newline; nullopt at EOF or after `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Sends SIGTERM and waits up to `grace` for it to exit, then SIGKILL.  Returns its exit code
  // (or -signal).  Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Sends `sig` (while it runs), and nothing more.
  void signal(int sig);
  // Waits up to `grace` for it to exit, sending nothing, then SIGKILL; returns as stop() does.
  // For a child already told to stop: a second SIGTERM could find its handler gone as it exits,
  // and kill it mid-exit.
  int wait(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string pending_;
  int status_ = 0;
  bool reaped_ = false;
};

// The path of the running executable (/proc/self/exe), for re-executing oneself.
std::string self_executable();

}  // namespace wb
