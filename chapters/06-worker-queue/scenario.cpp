#include "chapters/06-worker-queue/scenario.hpp"

#include <algorithm>
#include <stdexcept>

namespace worker_queue {

using std::chrono::duration;

wb::Chapter make_chapter(Params& params) {
  wb::Chapter c({.name = "worker-queue",
                 .title = "A worker queue under load: block, reject or drop when full — and what unbounded costs",
                 .sections = {"14", "28"},
                 .claims = {"C14"},
                 .ops_unit = "job"});
  c.knob("--producers", params.producers, "producers submitting jobs (threads or coroutines)", 1, 256, "producers");
  c.knob("--rate-per-s", params.rate_per_s, "steady pattern: jobs per second, all producers together", 1, 100'000,
         "jobs/s");
  c.knob("--pattern", params.pattern,
         "steady: a job every 1/rate s; burst: burst-factor x the workers' capacity, then quiet", {"steady", "burst"});
  c.knob("--burst-factor", params.burst_factor, "burst: submit this many times faster than the workers can go", 1, 100,
         "x");
  c.knob("--burst-ms", params.burst_ms, "burst: how long the burst lasts (then nothing until --duration-ms)", 1, 60'000,
         "ms");
  c.knob("--duration-ms", params.duration_ms, "how long the producers submit (the run ends when the queue is empty)", 1,
         600'000, "ms");
  c.knob("--queue-capacity", params.queue_capacity, "jobs waiting for a worker, at most; 0 = unbounded", 0, 1'000'000,
         "jobs");
  c.knob("--when-full", params.when_full,
         "a full queue makes the producer: block (wait for room), reject (turn the job away), drop-oldest (make room)",
         {"block", "reject", "drop-oldest"});
  c.knob("--workers", params.workers, "jobs processed at once (threads or coroutines)", 1, 1'000, "workers");
  c.knob("--job-ms", params.job_ms, "how long each job's backend call takes", 1, 60'000, "ms");
  c.knob("--payload-kib", params.payload_kib, "data each job carries while it waits and runs", 0, 16'384, "KiB");
  c.backend_knob(params.backend);
  c.counter_doc("scheduled", "jobs", "jobs the schedule asked the producers to submit");
  c.counter_doc("accepted", "jobs", "jobs that entered the queue");
  c.counter_doc("completed", "jobs", "accepted jobs whose backend call finished");
  c.counter_doc("rejected", "jobs", "jobs turned away by a full queue (when-full=reject): never accepted");
  c.counter_doc("dropped", "jobs", "accepted jobs thrown out of a full queue to make room (when-full=drop-oldest)");
  c.counter_doc("failed", "jobs", "accepted jobs whose backend call failed");
  c.counter_doc("lost", "jobs", "scheduled - rejected - completed - dropped - failed: must be 0");
  c.counter_doc("peak_depth", "jobs", "most jobs waiting in the queue at once");
  c.counter_doc("over_capacity", "jobs", "peak_depth - queue_capacity when bounded (0 when unbounded): must be <= 0");
  c.counter_doc("waits_for_room", "count", "times a producer found the queue full and waited (when-full=block)");
  c.counter_doc("producer_lag_max_ms", "ms", "how far the latest submission fell behind its schedule (backpressure)");
  c.counter_doc("queue_wait_p50_ms", "ms", "scheduled submit -> a worker took the job, median");
  c.counter_doc("queue_wait_p99_ms", "ms", "scheduled submit -> a worker took the job, 99th percentile");
  c.counter_doc("service_p50_ms", "ms", "a worker took the job -> its call finished, median");
  c.counter_doc("capacity_per_s", "jobs/s", "what the workers can do: workers x 1000 / job-ms");
  c.series_doc("queue_depth", "jobs", "jobs waiting in the queue, at every change");
  c.series_doc("producer_lag_ms", "ms", "how far each submission fell behind its schedule");
  c.quick_sweep("pattern", {"steady", "burst"});
  c.quick_sweep("queue_capacity", {"32", "0"});
  for (const char* v : {"sync", "async"}) {
    const std::string side = v;
    c.invariant({.id = "nothing-lost-" + side,
                 .claim = "C14",
                 .where = {},
                 .lhs = side + ".lost",
                 .op = "<=",
                 .rhs = "0",
                 .why = "every accepted job is completed or dropped on purpose, whatever the queue does when full"});
    // Only at a bound: with no bound (capacity 0) over_capacity is 0 by definition, which would
    // be a check that cannot fail.
    c.invariant({.id = "bounded-means-bounded-" + side,
                 .claim = "C14",
                 .where = {{"queue_capacity", 32}},
                 .lhs = side + ".over_capacity",
                 .op = "<=",
                 .rhs = "0",
                 .why = "a bounded queue never holds more than its capacity, however fast the producers go"});
    c.invariant({.id = "full-queue-pushes-back-" + side,
                 .claim = "C14",
                 .where = {{"queue_capacity", 32}, {"when_full", "block"}},
                 .lhs = side + ".producer_lag_max_ms",
                 .op = ">",
                 .factor = 10,
                 .rhs = side + ".producer_lag_max_ms",
                 .why = "a burst into a full bounded queue holds the producers back: they fall far behind their "
                        "schedule, where a steady load lets them keep it",
                 .lhs_where = {{"pattern", "burst"}},
                 .rhs_where = {{"pattern", "steady"}}});
    c.invariant({.id = "unbounded-queue-takes-the-backlog-" + side,
                 .claim = "C14",
                 .where = {{"pattern", "burst"}, {"when_full", "block"}},
                 .lhs = side + ".peak_depth",
                 .op = ">",
                 .factor = 2,
                 .rhs = side + ".peak_depth",
                 .why = "without a bound the burst's backlog piles up in the queue: the workers cannot take more "
                        "than their capacity, so most of the burst waits at once",
                 .lhs_where = {{"queue_capacity", 0}},
                 .rhs_where = {{"queue_capacity", 32}}});
    c.claim({.id = "unbounded-backlog-in-memory-" + side,
             .claim = "C14",
             .where = {{"pattern", "burst"}, {"when_full", "block"}},
             .lhs = side + ".peak_rss_kib",
             .op = ">",
             .factor = 2,
             .rhs = side + ".peak_rss_kib",
             .why = "without a bound nothing pushes back: the burst's backlog waits in memory, payloads and all",
             .lhs_where = {{"queue_capacity", 0}},
             .rhs_where = {{"queue_capacity", 32}}});
  }
  // workbench lab worker-queue: what a student guesses before the run.
  const std::string dir = "chapters/06-worker-queue/";
  c.prediction(
      {.id = "unbounded-depth",
       .question =
           "A burst at 4x what the workers can take, into an unbounded queue: how many jobs deep does the queue get?",
       .claim = "C14",
       .where = {{"pattern", "burst"}, {"queue_capacity", 0}},
       .measure = "sync.peak_depth",
       .unit = "jobs",
       .min = 0,
       .max = 1'000'000,
       .explain = {{dir + "sync.cpp", "queue.push_back(std::move(job));", "nothing stops a push"},
                   {dir + "async.cpp", "if (queue.try_send(boost::system::error_code{}, std::move(job))) {",
                    "room, or wait for it"}}});
  c.prediction(
      {.id = "bounded-pushback",
       .question = "The same burst into a queue of 32: how many ms is the producer held up at most?",
       .claim = "C14",
       .where = {{"pattern", "burst"}, {"queue_capacity", 32}},
       .measure = "async.producer_lag_max_ms",
       .unit = "ms",
       .min = 0,
       .max = 100'000,
       .explain = {
           {dir + "sync.cpp", "changed.wait(lock, [&] { return !full(); });", "the producer thread waits for room"},
           {dir + "async.cpp",
            "co_await queue.async_send(boost::system::error_code{}, std::move(job), asio::use_awaitable);",
            "the producer coroutine waits for room"}}});
  return c;
}

Workload::Workload(const Params& params, const wb::Run& /*run*/)
    : BackendWorkload(params.backend, 2),
      capacity_per_s_(static_cast<double>(params.workers) * 1000.0 / static_cast<double>(params.job_ms)) {
  // Submit times, evenly spaced at the pattern's rate.
  const bool burst = params.pattern == "burst";
  const double rate =
      burst ? capacity_per_s_ * static_cast<double>(params.burst_factor) : static_cast<double>(params.rate_per_s);
  const double seconds =
      static_cast<double>(burst ? std::min(params.burst_ms, params.duration_ms) : params.duration_ms) / 1000.0;
  const auto jobs = static_cast<std::int64_t>(rate * seconds);
  if (jobs > 10'000'000) throw wb::UsageError("the schedule asks for more than 10,000,000 jobs: lower the rate");
  schedule_.reserve(static_cast<std::size_t>(jobs));
  for (std::int64_t i = 0; i < jobs; ++i) {
    schedule_.push_back(std::chrono::duration_cast<Clock::duration>(duration<double>(static_cast<double>(i) / rate)));
  }
}

namespace {
char fill_of(std::uint64_t id) { return static_cast<char>('a' + id % 26); }

void raise_to(std::atomic<std::int64_t>& most, std::int64_t value) {
  std::int64_t seen = most.load();
  while (value > seen && !most.compare_exchange_weak(seen, value)) {
  }
}
}  // namespace

Job make_job(const Params& params, std::uint64_t id, Clock::time_point scheduled) {
  // Written, not just reserved: the pages are touched, so the backlog shows in RSS.
  return Job{id, scheduled, Clock::now(),
             std::string(static_cast<std::size_t>(params.payload_kib) * 1024, fill_of(id))};
}

wb::WorkRequest job_request(const Params& params, const Job& job) {
  // Compared with a fresh copy (memset and memcmp): a loop over the bytes would cost the async
  // variant's one thread more than the job itself in a sanitizer build.
  if (job.payload != std::string(static_cast<std::size_t>(params.payload_kib) * 1024, fill_of(job.id))) {
    throw std::runtime_error("job " + std::to_string(job.id) + ": its payload changed in the queue");
  }
  wb::WorkRequest r;
  r.id = job.id;
  r.delay_ms = params.job_ms;
  r.bytes = 64;
  return r;
}

void Ledger::depth(std::int64_t now) {
  run.sample("queue_depth", static_cast<double>(now));
  raise_to(peak_depth, now);
}

void Ledger::submitted(Clock::time_point scheduled) {
  const auto lag = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - scheduled).count();
  run.sample("producer_lag_ms", static_cast<double>(lag) / 1000.0);
  raise_to(max_lag_us, lag);
}

void Ledger::done(const Job& job, Clock::time_point taken) {
  const auto now = Clock::now();
  queue_wait.record((taken - job.scheduled).count());
  service.record((now - taken).count());
  run.latency().record((now - job.scheduled).count());  // end to end, from the schedule: no coordinated omission
  ++completed;
}

wb::Outcome record(const Params& params, const Workload& workload, const Ledger& ledger, wb::Run& run) {
  const auto scheduled = static_cast<std::int64_t>(workload.schedule().size());
  const auto accepted = ledger.accepted.load();
  const auto completed = ledger.completed.load();
  const auto dropped = ledger.dropped.load();
  const auto failed = ledger.failed.load();
  const auto lost = scheduled - ledger.rejected.load() - completed - dropped - failed;
  const auto wait = ledger.queue_wait.summary();
  run.counter("scheduled", static_cast<double>(scheduled));
  run.counter("accepted", static_cast<double>(accepted));
  run.counter("completed", static_cast<double>(completed));
  run.counter("rejected", static_cast<double>(ledger.rejected.load()));
  run.counter("dropped", static_cast<double>(dropped));
  run.counter("failed", static_cast<double>(failed));
  run.counter("lost", static_cast<double>(lost));
  run.counter("peak_depth", static_cast<double>(ledger.peak_depth.load()));
  run.counter("over_capacity",
              params.queue_capacity > 0 ? static_cast<double>(ledger.peak_depth.load() - params.queue_capacity) : 0.0);
  run.counter("producer_lag_max_ms", static_cast<double>(ledger.max_lag_us.load()) / 1000.0);
  run.counter("waits_for_room", static_cast<double>(ledger.waits_for_room.load()));
  run.counter("queue_wait_p50_ms", wait.p50_us / 1000.0);
  run.counter("queue_wait_p99_ms", wait.p99_us / 1000.0);
  run.counter("service_p50_ms", ledger.service.summary().p50_us / 1000.0);
  run.counter("capacity_per_s", static_cast<double>(params.workers) * 1000.0 / static_cast<double>(params.job_ms));
  // How many were dropped or refused is timing; the variants must agree that nothing was lost
  // or failed — with the plan, so the digest still says which run this was.
  return {static_cast<std::uint64_t>(completed),
          run.plan_digest("lost=" + std::to_string(lost) + " failed=" + std::to_string(failed))};
}

}  // namespace worker_queue
