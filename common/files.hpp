// Files and directories the harness, the runner and the chapters make and read: a whole small
// file read at once, and directories removed with their contents when their owner is done.
#pragma once

#include <string>

namespace wb {

// Reads a whole (small) file; empty when it does not exist.
std::string read_text_file(const std::string& path);

// A working directory for generated data, removed with its contents when this object dies.
// A process killed by SIGKILL (the runner's watchdog) cannot clean up, so the name carries the
// owner's pid — <base>/<prefix>-<pid>-XXXXXX — and making one first removes those whose owner
// is gone.
class ScratchDir {
 public:
  ScratchDir(const std::string& base, const std::string& prefix);
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A temporary directory removed (with its contents) when this object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "workbench");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace wb
