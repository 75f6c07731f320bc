// One call to the loopback backend (workbench-backend), blocking or awaited, for chapters whose
// lesson is what stands in front of the call — a queue, a rate limiter, a breaker — not the call
// itself (chapters 02–05 write their calls out: there the call is the lesson).  Asio headers:
// include it only where the call is made.
#pragma once

#include <chrono>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/work_params.hpp"

namespace wb {

// Calls the backend for `request` and checks its answer; throws on any failure.  The blocking
// one parks the calling thread; its socket belongs to `io`, which nobody needs to run.  With a
// deadline it gives up when the deadline passes first (boost::system::system_error with
// beast::error::timeout): a blocking read cannot be cancelled, so it polls with the time left
// (wb::DeadlineStream).  The awaitable one is cancelled like any Asio operation — `call ||
// timer` is its timeout.
void call_backend_blocking(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
                           const wb::WorkRequest& request,
                           std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
boost::asio::awaitable<void> call_backend(boost::asio::ip::tcp::endpoint endpoint, wb::WorkRequest request);

}  // namespace wb
