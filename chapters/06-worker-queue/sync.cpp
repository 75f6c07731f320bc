// Chapter 06 — a worker queue, the BLOCKING way.  Twin of async.cpp: `diff sync.cpp async.cpp`
// is the lesson.
//
// Concurrency model: producer and worker std::jthreads around a std::deque guarded by a mutex
// and a condition variable.  Every waiting job is a thread parked somewhere: in the queue's wait
// or in a socket read.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "chapters/06-worker-queue/scenario.hpp"
#include "common/backend_call.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace worker_queue {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io;  // sockets need one; nobody runs it: every call blocks its thread
  Ledger ledger(run);
  // The queue: a deque under a mutex; `changed` wakes whoever waits for it to change.
  std::mutex mu;
  std::condition_variable changed;
  std::deque<Job> queue;
  std::int64_t producers_left = params.producers;  // under mu: the last one out closes the intake
  const auto capacity = static_cast<std::size_t>(params.queue_capacity);  // 0: unbounded
  const auto full = [&] { return capacity > 0 && queue.size() >= capacity; };
  const auto start = Clock::now();

  // Producers: submit each of their jobs at its scheduled time, whatever the queue says.
  auto producer = [&](std::size_t first) {
    for (std::size_t i = first; i < workload.schedule().size(); i += static_cast<std::size_t>(params.producers)) {
      std::this_thread::sleep_until(start + workload.schedule()[i]);  // late already? then at once
      Job job = make_job(params, i, start + workload.schedule()[i]);
      std::unique_lock lock(mu);
      if (full() && params.when_full == "reject") {
        ++ledger.rejected;  // turned away: never accepted
      } else {
        if (full() && params.when_full == "drop-oldest") {
          queue.pop_front();  // the oldest waiting job makes room
          ++ledger.dropped;
        }
        // A full queue pushes back: wait for room (the producer falls behind its schedule).
        if (full()) {
          ++ledger.waits_for_room;
          wb::event(-1, "wait for room");
        }
        changed.wait(lock, [&] { return !full(); });
        queue.push_back(std::move(job));
        ++ledger.accepted;
        ledger.depth(static_cast<std::int64_t>(queue.size()));
        changed.notify_all();
      }
      ledger.submitted(start + workload.schedule()[i]);
    }
    const std::lock_guard lock(mu);
    if (--producers_left == 0) changed.notify_all();  // the intake is closed: idle workers may leave
  };

  // Workers: take the oldest job and make its call; leave when the intake is closed and the
  // queue is empty.
  auto worker = [&] {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu);
        wb::event(-1, "wait for a job");
        changed.wait(lock, [&] { return !queue.empty() || producers_left == 0; });
        if (queue.empty()) break;  // closed and drained: done
        job = std::move(queue.front());
        queue.pop_front();
        ledger.depth(static_cast<std::int64_t>(queue.size()));
        changed.notify_all();  // room for a producer
      }
      const auto taken = Clock::now();
      const wb::Span span(static_cast<std::int64_t>(job.id), "job " + std::to_string(job.id));
      try {
        wb::event(static_cast<std::int64_t>(job.id), "wait for the answer");
        wb::call_backend_blocking(io, endpoint,
                                  job_request(params, job));  // parks this worker until the backend answers
        ledger.done(job, taken);
      } catch (const std::exception&) {
        ++ledger.failed;  // counted, not lost
      }
    }
  };

  {
    // A thread each: the producers, the workers.  Leaving the block joins them.
    std::vector<std::jthread> threads;
    for (std::int64_t i = 0; i < params.producers; ++i) threads.emplace_back(producer, static_cast<std::size_t>(i));
    for (std::int64_t i = 0; i < params.workers; ++i) threads.emplace_back(worker);
  }
  return record(params, workload, ledger, run);
}

}  // namespace worker_queue
