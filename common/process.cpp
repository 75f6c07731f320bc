#include "common/process.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wb {

std::string ProcessResult::describe() const {
  if (!started) return "could not start: " + start_error;
  std::string s;
  if (timed_out) s = "killed after its time limit; ";
  if (cancelled) s = "killed on interrupt; ";
  if (signal != 0) return s + "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return s + "exit " + std::to_string(exit_code);
}

namespace {

// Forks and execs argv.  `prepare` runs in the child before exec (redirections, a process
// group) and returns false, with errno set, to give up.  A close-on-exec pipe tells the parent
// whether exec succeeded: it reads EOF on success, the child's errno otherwise.  Returns the pid,
// or -1 with *error set.  Between fork and exec the child calls only async-signal-safe functions,
// as a child of a multi-threaded parent must.
pid_t spawn(const std::vector<std::string>& argv, const std::function<bool()>& prepare, std::string* error) {
  if (argv.empty()) {
    *error = "empty command";
    return -1;
  }
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return -1;
  }
  if (pid == 0) {
    ::close(err_pipe[0]);
    // Every child dies with the process that started it, whatever ends that process (SIGKILL
    // included): set before exec, so no window where a trial outlives a runner that is gone.
    // (The signal follows the forking thread; every caller waits for its child on that thread.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // it is gone already
    // A fresh program starts with default signal handling, whatever this process blocked or
    // ignored (a chapter that takes signals on one thread blocks them everywhere).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGINT, &dfl, nullptr);
    ::sigaction(SIGTERM, &dfl, nullptr);
    if (!prepare || prepare()) ::execv(args[0], args.data());
    const int e = errno;
    (void)!::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof child_errno) {
    ::waitpid(pid, nullptr, 0);
    *error = argv[0] + ": " + std::strerror(child_errno);
    return -1;
  }
  return pid;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

ProcessResult run_process(const ProcessSpec& spec) {
  ProcessResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = spawn(
      spec.argv,
      [&spec] {
        if (spec.own_process_group) ::setpgid(0, 0);
        for (const auto& [path, target] :
             {std::pair{&spec.stdout_path, STDOUT_FILENO}, std::pair{&spec.stderr_path, STDERR_FILENO}}) {
          if (path->empty()) continue;
          const int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
          if (fd < 0 || ::dup2(fd, target) < 0) return false;
        }
        return true;
      },
      &r.start_error);
  if (pid < 0) return r;
  r.started = true;
  if (spec.on_start) spec.on_start(pid);

  // Wait on a pidfd: poll() wakes exactly when the child exits, with no SIGCHLD handler and no
  // sleep loop.  Slices of 50 ms let a cancel request (Ctrl-C in the runner) be seen promptly.
  const int pfd = pidfd_open(pid);
  const auto deadline = t0 + spec.timeout;
  auto kill_child = [&] {
    if (spec.own_process_group) ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  };
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    const auto now = std::chrono::steady_clock::now();
    if (spec.cancel && spec.cancel->load()) {
      r.cancelled = true;
      kill_child();
      ::waitpid(pid, &status, 0);
      break;
    }
    if (spec.timeout.count() > 0 && now >= deadline) {
      r.timed_out = true;
      kill_child();
      ::waitpid(pid, &status, 0);
      break;
    }
    int slice = 50;
    if (spec.timeout.count() > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      slice = static_cast<int>(std::min<long long>(slice, left));
    }
    if (pfd >= 0) {
      pollfd p{pfd, POLLIN, 0};
      ::poll(&p, 1, slice);
    } else {
      ::usleep(static_cast<useconds_t>(std::min(slice, 5)) * 1000);  // pre-5.3 kernels
    }
  }
  if (pfd >= 0) ::close(pfd);
  // The child's own children (if any) die with its process group.
  if (spec.own_process_group) ::kill(-pid, SIGKILL);
  r.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  std::string error;
  const pid_t pid = spawn(
      argv,
      [&] {
        return ::dup2(out[1], STDOUT_FILENO) >= 0;  // spawn() set the death signal
      },
      &error);
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot start " + error);
  }
  pid_ = pid;
  out_fd_ = out[0];
}

ChildProcess::~ChildProcess() {
  stop();
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
      auto line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[512];
    const auto got = ::read(out_fd_, buf, sizeof buf);
    if (got <= 0) return std::nullopt;  // EOF: the child closed stdout (or died)
    pending_.append(buf, static_cast<std::size_t>(got));
  }
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  return wait(grace);
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds grace) {
  if (pid_ < 0) return -1;
  if (!reaped_) {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!reaped_) {
      const pid_t w = ::waitpid(pid_, &status_, WNOHANG);
      if (w == pid_) {
        reaped_ = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        reaped_ = true;
        break;
      }
      ::usleep(2000);  // a service shutting down; nothing to wake us sooner without a pidfd
    }
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
  return -1;
}

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::system_error(ec, "cannot read /proc/self/exe");
  return p.string();
}

}  // namespace wb
