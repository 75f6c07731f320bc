// Several variants (`--mode all`, the default, or a list): the chapter runs itself once per
// variant, each in a child process of its own — so that peak RSS and thread counts are that
// variant's alone — passes on the signals meant for the child, and prints the records side by
// side.
#include <atomic>
#include <fstream>
#include <iostream>

#include <signal.h>

#include "common/chapter_impl.hpp"
#include "common/files.hpp"
#include "common/process.hpp"
#include "common/table.hpp"

namespace wb {

using nlohmann::json;

namespace {

std::atomic<int> g_child_pid{0};
extern "C" void forward_to_child(int sig) {
  if (const int pid = g_child_pid.load()) ::kill(pid, sig);
}

// While a variant runs in a child, this process must not die of the signals meant for it: a
// Ctrl-C reaches the child from the terminal anyway (same process group), so SIGINT is ignored
// here, and a SIGTERM sent to this process alone is passed on — as system(3) and shells do.
class ForwardSignals {
 public:
  ForwardSignals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &old_int_);
    struct sigaction forward {};
    forward.sa_handler = forward_to_child;
    ::sigaction(SIGTERM, &forward, &old_term_);
  }
  ForwardSignals(const ForwardSignals&) = delete;
  ForwardSignals& operator=(const ForwardSignals&) = delete;
  ~ForwardSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    g_child_pid = 0;
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

int Chapter::Impl::run_each(const std::vector<std::string>& names) const {
  TempDir tmp("wb-both");
  const ForwardSignals forward;
  std::vector<TrialRecord> records;
  int code = 0;
  json merged_trace = json::array();
  for (const auto& name : names) {
    std::vector<std::string> args = {self_executable(), "--mode", name, "--json", tmp.file(name + ".json")};
    for (auto& arg : knob_args()) args.push_back(arg);
    if (narrate) {
      args.push_back("--narrate");
      std::cerr << "---- " << info.name << " " << name << " ----\n";
    }
    if (!trace_file.empty()) {
      args.push_back("--trace");
      args.push_back(tmp.file(name + ".trace.json"));
    }
    // Each variant runs in a process of its own, so peak RSS and thread counts are its own.
    ProcessSpec spec;
    spec.argv = args;
    spec.stdout_path = "/dev/null";  // we print the combined table; the child's stderr stays visible
    spec.own_process_group = false;  // Ctrl-C reaches the child too
    spec.on_start = [](int pid) { g_child_pid = pid; };
    const auto result = run_process(spec);
    if (result.started && result.exit_code == 2) return 2;  // the child said what was wrong
    TrialRecord rec;
    const auto text = read_text_file(tmp.file(name + ".json"));
    if (!text.empty()) {
      from_json(json::parse(text.substr(0, text.find('\n'))), rec);
    } else {
      rec.chapter = info.name;
      rec.variant = name;
      rec.params = params();
      rec.status = "failed";
      rec.reason = "the " + name + " process ended without a record: " + result.describe();
      std::cerr << info.name << ": " << rec.reason << '\n';
    }
    if (!result.ok()) code = 1;
    records.push_back(std::move(rec));
    if (!trace_file.empty()) {
      const auto t = read_text_file(tmp.file(name + ".trace.json"));
      if (!t.empty()) {
        auto doc = json::parse(t);
        for (auto& e : doc["traceEvents"]) merged_trace.push_back(std::move(e));
      }
    }
  }
  if (!trace_file.empty()) {
    std::ofstream f(trace_file, std::ios::trunc);
    f << json{{"traceEvents", merged_trace}, {"displayTimeUnit", "ms"}}.dump() << '\n';
    if (!f) {
      std::cerr << info.name << ": cannot write --trace file " << trace_file << '\n';
      code = 1;
    }
  }
  if (const int e = emit(records); e != 0) code = e;
  // Every variant computes the same observable result from the same inputs (claim C3).
  const TrialRecord* first_ok = nullptr;
  for (const auto& r : records) {
    if (r.status != "ok") continue;
    if (!first_ok) {
      first_ok = &r;
    } else if (r.result_digest != first_ok->result_digest) {
      std::cerr << info.name << ": the variants computed different results (" << first_ok->variant << " digest "
                << first_ok->result_digest << ", " << r.variant << " " << r.result_digest
                << ") — a bug in one of them\n";
      code = 1;
    }
  }
  return code;
}

}  // namespace wb
