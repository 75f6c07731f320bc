// Chapter 06 — a worker queue, the ASYNC way.  Twin of sync.cpp: `diff sync.cpp async.cpp` is
// the lesson.
//
// Concurrency model: producer and worker coroutines on one io_context thread around an
// experimental::channel (the queue).  A waiting job is a suspended coroutine, not a parked
// thread.
#include <cstdint>
#include <limits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/06-worker-queue/scenario.hpp"
#include "common/backend_call.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace worker_queue {

wb::Outcome run_async(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io(1);  // concurrency hint 1: this thread alone runs producers and workers
  Ledger ledger(run);
  // The queue: a channel with room for queue_capacity jobs (0: no limit); sending waits while
  // it is full.
  asio::experimental::channel<void(boost::system::error_code, Job)> queue(
      io, params.queue_capacity > 0 ? static_cast<std::size_t>(params.queue_capacity)
                                    : std::numeric_limits<std::size_t>::max());
  std::int64_t producers_left = params.producers;  // one thread runs every coroutine: no mutex
  ChannelDepth depth(ledger);  // a channel does not say how many jobs it holds: counted (scenario.hpp)
  const auto start = Clock::now();

  // Producers: submit each of their jobs at its scheduled time, whatever the queue says.
  auto producer = [&](std::size_t first) -> asio::awaitable<void> {
    asio::steady_timer due(io);
    for (std::size_t i = first; i < workload.schedule().size(); i += static_cast<std::size_t>(params.producers)) {
      due.expires_at(start + workload.schedule()[i]);                // late already? then at once
      co_await due.async_wait(asio::as_tuple(asio::use_awaitable));  // errors as values
      Job job = make_job(params, i, start + workload.schedule()[i]);
      if (queue.try_send(boost::system::error_code{}, std::move(job))) {  // room: in at once (not moved if full)
        ++ledger.accepted;
        depth.sent();
      } else if (params.when_full == "reject") {
        ++ledger.rejected;  // turned away: never accepted
      } else {
        if (params.when_full == "drop-oldest") {
          queue.try_receive([&](boost::system::error_code, Job) { depth.dropped(); });  // the oldest job makes room
          ++ledger.dropped;
        }
        // A full queue pushes back: wait for room (the producer falls behind its schedule).
        if (depth.buffered() >= params.queue_capacity) {
          ++ledger.waits_for_room;
          wb::event(-1, "wait for room");
        }
        co_await queue.async_send(boost::system::error_code{}, std::move(job), asio::use_awaitable);
        ++ledger.accepted;
        depth.sent();
      }
      ledger.submitted(start + workload.schedule()[i]);
    }
    // The last producer out closes the intake: a "no more jobs" marker per worker, behind every
    // job queued (channel::close() would drop those).
    // (g++ 12 destroys twice a temporary Job built inside the co_await expression: name it.)
    if (--producers_left > 0) co_return;
    for (std::int64_t i = 0; i < params.workers; ++i) {
      Job marker;
      marker.id = kNoMoreJobs;
      co_await queue.async_send(boost::system::error_code{}, std::move(marker), asio::use_awaitable);
    }
  };

  // Workers: take the oldest job and make its call; leave at the "no more jobs" marker, which
  // comes after every job queued.
  auto worker = [&]() -> asio::awaitable<void> {
    for (;;) {
      wb::event(-1, "wait for a job");
      depth.receiving();  // the oldest buffered job at once, or the next one sent
      Job job = co_await queue.async_receive(asio::use_awaitable);
      if (job.id == kNoMoreJobs) break;  // closed and drained: done
      const auto taken = Clock::now();
      const wb::Span span(static_cast<std::int64_t>(job.id), "job " + std::to_string(job.id));
      try {
        wb::event(static_cast<std::int64_t>(job.id), "wait for the answer");
        const auto request = job_request(params, job);
        co_await wb::call_backend(endpoint, request);  // suspends this worker only
        ledger.done(job, taken);
      } catch (const std::exception&) {
        ++ledger.failed;  // counted, not lost
      }
    }
  };

  // A coroutine each: the producers, the workers.  Exception policy: they handle expected errors
  // themselves; an exception reaching this handler is a bug, rethrown from io.run().
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  for (std::int64_t i = 0; i < params.producers; ++i)
    asio::co_spawn(io, producer(static_cast<std::size_t>(i)), rethrow);
  for (std::int64_t i = 0; i < params.workers; ++i) asio::co_spawn(io, worker(), rethrow);
  io.run();  // returns when every coroutine has finished
  return record(params, workload, ledger, run);
}

}  // namespace worker_queue
