// Chapter 13 — how a coroutine variant makes an update safe: async.cpp's `async-mutex`;
// async_ways.cpp's `strand`, `actor` and `channel-lock`.  Asio stays out of scenario.hpp.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "chapters/13-shared-state/scenario.hpp"
#include "common/first_error.hpp"

namespace shared_state {

class AsyncWay {
 public:
  virtual ~AsyncWay() = default;
  // One update of `task`'s, made safe this way; it may suspend the task, never block its thread.
  virtual boost::asio::awaitable<void> update(std::vector<std::int64_t>& state, std::int64_t task, Op op) = 0;
  // Before the tasks start (actor: the owners that apply what the tasks send).
  virtual void start(std::vector<std::int64_t>& /*state*/, wb::FirstError& /*error*/) {}
  std::atomic<std::int64_t> waits{0};  // updates that found the state taken (actor: a full mailbox)
};

// strand, actor, channel-lock (async_ways.cpp).
std::unique_ptr<AsyncWay> other_async_way(const std::string& variant, boost::asio::io_context& io, const Params& params,
                                          const Workload& workload);

}  // namespace shared_state
