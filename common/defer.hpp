// Defer: runs a function when the scope it was declared in ends, however it ends (a return, an
// exception, a coroutine destroyed while suspended).  For the "give it back" half of a pair —
// a semaphore slot, a count — so both twins of a chapter release the same way.
#pragma once

#include <utility>

namespace wb {

template <class F>
class Defer {
 public:
  explicit Defer(F f) : f_(std::move(f)) {}
  Defer(const Defer&) = delete;
  Defer& operator=(const Defer&) = delete;
  ~Defer() { f_(); }

 private:
  F f_;
};

}  // namespace wb
