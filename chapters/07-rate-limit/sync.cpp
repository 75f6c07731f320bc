// Chapter 07 — rate limiting, the BLOCKING way.  Twin of async.cpp: `diff sync.cpp async.cpp`
// is the lesson.
//
// Concurrency model: a std::thread per client (wb::run_on_threads).  A client the limiter makes
// wait sleeps until its turn: with 10,000 clients waiting, 10,000 threads are asleep, each with
// its stack — the limiter decides *when*, the thread is what waiting costs.  More clients than
// the OS allows threads fail cleanly, naming the limit.
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "chapters/07-rate-limit/scenario.hpp"
#include "common/backend_call.hpp"
#include "common/first_error.hpp"
#include "common/threads.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace rate_limit {

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io;  // sockets need one; nobody runs it: every call blocks its thread
  Gate gate(params);
  wb::FirstError error;  // the first failure: the others end early
  std::mutex start_mu;
  std::condition_variable start_line;  // the clients wait here until the gate opens

  // A client: wait at the start line; then, for each call, ask the limiter when; wait for that
  // time; make the call.
  auto client = [&](std::int64_t c) {
    {
      std::unique_lock lock(start_mu);
      if (gate.arrive()) {
        start_line.notify_all();
      } else if (!gate.open()) {
        wb::event(c, "wait at the start line");
        start_line.wait(lock,
                        [&] { return gate.open() || error.failed(); });  // this thread sleeps until the last arrives
      }
    }
    for (std::int64_t k = 0; k < params.calls && !error.failed(); ++k) {
      const auto id = static_cast<std::uint64_t>(c * params.calls + k);
      const auto arrived = Clock::now();
      const auto go = gate.ask();
      if (!go) {
        wb::event(c, "refused");
        continue;  // turned away: on to the next call
      }
      if (*go > Clock::now()) {
        wb::event(c, "wait for a turn");
        gate.waiting(+1, run);
        std::this_thread::sleep_until(*go);  // this thread sleeps until the limiter's time
        gate.waiting(-1, run);
      }
      gate.started(*go, run, arrived);
      wb::event(c, "call");
      wb::call_backend_blocking(io, endpoint, call_request(params, id));
    }
  };

  // Exception policy: the first error (a call that failed, a thread refused) ends the run.
  wb::run_on_threads(params.clients, client, [&](std::exception_ptr e) {
    bool first = false;
    {
      const std::lock_guard lock(start_mu);  // kept under the start line's lock, so no client misses the wake-up
      first = error.keep(e);
    }
    if (first) start_line.notify_all();
  });
  error.rethrow();
  return gate.record(params, run);
}

}  // namespace rate_limit
