// Events a chapter reports so a student can see who ran what, when.
//
//   wb::event(task, "read 4096 bytes");       // something happened in task `task`
//   wb::span_begin(task, "file 3"); ... wb::span_end(task, "file 3");
//   wb::Span span(task, "call 3");            // the same, ended by the destructor
//
// With --narrate each event is printed to stderr as it happens:
//     12.345 ms  tid 48213  task 3    read 4096 bytes
// so sequential execution (one task after another) and interleaving (many tasks, one thread)
// are visible in the order of the lines.  With --trace FILE the same events are written as
// Chrome trace-event JSON (open it in https://ui.perfetto.dev or chrome://tracing): instants on
// each OS thread's track, and each task's spans as an async track of its own, so a coroutine
// that hops threads still reads as one task.
//
// When neither is on, an event costs one relaxed load and a branch.  Thread ids are gettid(),
// not std::this_thread::get_id(): clang at -O2 may cache the latter across a co_await that
// moved the coroutine to another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace wb {

namespace trace_detail {
extern std::atomic<bool> g_on;
void emit(std::int64_t task, char phase, std::string_view what);
}  // namespace trace_detail

inline bool tracing() noexcept { return trace_detail::g_on.load(std::memory_order_relaxed); }

inline void event(std::int64_t task, std::string_view what) {
  if (tracing()) trace_detail::emit(task, 'i', what);
}
inline void span_begin(std::int64_t task, std::string_view what) {
  if (tracing()) trace_detail::emit(task, 'b', what);
}
inline void span_end(std::int64_t task, std::string_view what) {
  if (tracing()) trace_detail::emit(task, 'e', what);
}

// A span that ends when this object does — also when an exception or a cancellation unwinds
// the coroutine or thread that holds it.
class Span {
 public:
  Span(std::int64_t task, std::string what) : task_(task), what_(std::move(what)) { span_begin(task_, what_); }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { span_end(task_, what_); }

 private:
  std::int64_t task_;
  std::string what_;
};

// The harness turns tracing on; chapters only emit.
struct TraceConfig {
  bool narrate = false;
  std::string trace_file;     // empty: no Chrome trace
  std::string process_label;  // "sync" / "async": names the process track in the trace
  int pid_for_trace = 0;      // distinct per variant, so both variants can share one file
};
void start_tracing(const TraceConfig& config);
// Writes the trace file (if any) and turns tracing off.  Returns false and fills *error when
// the file cannot be written.
bool finish_tracing(std::string* error);

std::int64_t current_tid() noexcept;

}  // namespace wb
