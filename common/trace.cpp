#include "common/trace.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

namespace wb {

namespace trace_detail {
std::atomic<bool> g_on{false};
}

namespace {

struct Event {
  std::int64_t t_ns;
  std::int64_t tid;
  std::int64_t task;
  char phase;
  std::string what;
};

// Events are rare and the point of narration is their order, so one mutex is the honest
// choice: it serialises the lines exactly as the events happened.
struct State {
  std::mutex mu;
  TraceConfig config;
  std::chrono::steady_clock::time_point t0;
  std::vector<Event> events;
};
State& state() {
  static State s;
  return s;
}

}  // namespace

std::int64_t current_tid() noexcept { return static_cast<std::int64_t>(::syscall(SYS_gettid)); }

void trace_detail::emit(std::int64_t task, char phase, std::string_view what) {
  auto& s = state();
  const auto now = std::chrono::steady_clock::now();
  const auto tid = current_tid();
  std::lock_guard lock(s.mu);
  const auto t_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.t0).count();
  if (s.config.narrate) {
    const char* mark = phase == 'b' ? "begin " : phase == 'e' ? "end   " : "";
    std::fprintf(stderr, "%10.3f ms  tid %-7lld task %-5lld %s%.*s\n", static_cast<double>(t_ns) / 1e6,
                 static_cast<long long>(tid), static_cast<long long>(task), mark, static_cast<int>(what.size()),
                 what.data());
  }
  if (!s.config.trace_file.empty()) s.events.push_back({t_ns, tid, task, phase, std::string(what)});
}

void start_tracing(const TraceConfig& config) {
  auto& s = state();
  {
    std::lock_guard lock(s.mu);
    s.config = config;
    s.events.clear();
    s.t0 = std::chrono::steady_clock::now();
  }
  trace_detail::g_on.store(config.narrate || !config.trace_file.empty());
}

bool finish_tracing(std::string* error) {
  auto& s = state();
  trace_detail::g_on.store(false);
  std::lock_guard lock(s.mu);
  if (s.config.trace_file.empty()) return true;
  using nlohmann::json;
  json events = json::array();
  const int pid = s.config.pid_for_trace;
  events.push_back({{"ph", "M"},
                    {"name", "process_name"},
                    {"pid", pid},
                    {"tid", 0},
                    {"ts", 0},
                    {"args", {{"name", s.config.process_label}}}});
  for (const auto& e : s.events) {
    json j = {{"name", e.what},
              {"ts", static_cast<double>(e.t_ns) / 1e3},
              {"pid", pid},
              {"tid", e.tid},
              {"args", {{"task", e.task}}}};
    if (e.phase == 'i') {
      j["ph"] = "i";
      j["s"] = "t";
    } else {
      // Async spans are matched by (cat, id, name), not by thread: a coroutine may end a span
      // on another thread than it began on.
      j["ph"] = std::string(1, e.phase);
      j["cat"] = "task";
      j["id"] = std::to_string(pid) + ":" + std::to_string(e.task);
    }
    events.push_back(std::move(j));
  }
  const json doc = {{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}};
  std::ofstream out(s.config.trace_file, std::ios::trunc);
  out << doc.dump() << '\n';
  out.flush();
  if (!out) {
    if (error) *error = "cannot write trace file " + s.config.trace_file;
    return false;
  }
  return true;
}

}  // namespace wb
