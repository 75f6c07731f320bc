// The base of every chapter's Workload (common/chapter.hpp shows where main() builds it).
// Light on purpose: common/backend.hpp derives BackendWorkload from it without the harness.
#pragma once

namespace wb {

class Run;

// What a chapter sets up before the clock starts — a backend to call, the inputs drawn from the
// seed, a server to load — and finishes after it stops: a chapter's Workload derives from this
// and is built as `Workload(params, run)`.  finish() is for what must wait until the measured
// region has ended (a server's exit status, counters read afterwards); this one does nothing,
// and a Workload that has something to finish declares its own.
class Workload {
 public:
  void finish(Run& /*run*/) {}
};

// The Workload of a chapter with nothing to set up: all it does is what it measures (every
// thread or coroutine is created inside the measured region).
struct NoSetUp : Workload {
  template <class Params>
  NoSetUp(const Params& /*params*/, const Run& /*run*/) {}
};

}  // namespace wb
