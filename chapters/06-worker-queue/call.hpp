// Chapter 06 — a job's work: one call to the loopback backend, blocking or awaited.  Kept out
// of the twins, whose lesson is the queue in front of the workers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/work_params.hpp"

namespace worker_queue {

// Calls the backend for `request` and checks its answer; throws on any failure.  The blocking
// one parks the calling thread; its socket belongs to `io`, which nobody needs to run.
void call_blocking(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
                   const wb::WorkRequest& request);
boost::asio::awaitable<void> call(boost::asio::ip::tcp::endpoint endpoint, wb::WorkRequest request);

}  // namespace worker_queue
