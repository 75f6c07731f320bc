// CancellationSource: std::stop_source's counterpart for coroutines.  An asio::cancellation_signal
// serves one cancellation slot, so one coroutine; a source hands out a slot per coroutine bound
// to it, and request_stop() emits a cancellation to every one of them: each one's pending
// operation completes at once with operation_aborted.
//
//   wb::CancellationSource accepting;
//   asio::co_spawn(io, producer(), asio::bind_cancellation_slot(accepting.slot(), handler));
//   ...
//   accepting.request_stop();  // every producer's pending wait ends now
//
// Not thread-safe: for coroutines that run on one thread (or one strand), like the signals.
// Brings Asio: include it from async code only.
#pragma once

#include <list>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>

namespace wb {

class CancellationSource {
 public:
  boost::asio::cancellation_slot slot() { return signals_.emplace_back().slot(); }
  void request_stop(boost::asio::cancellation_type type = boost::asio::cancellation_type::terminal) {
    stop_requested_ = true;
    for (auto& s : signals_) s.emit(type);
  }
  bool stop_requested() const { return stop_requested_; }

 private:
  std::list<boost::asio::cancellation_signal> signals_;  // a list: a signal must not move once its slot is bound
  bool stop_requested_ = false;
};

}  // namespace wb
