// Chapter 03 — timeouts, the BLOCKING way, twice.  Twin of async.cpp: `diff sync.cpp async.cpp`
// is the lesson.
//
// Concurrency model: K worker threads make the calls with Beast's blocking API.  A blocking call
// cannot be cancelled from outside, so a deadline has two honest forms:
//   --sync-timeout future: run the call with std::async and wait_until(deadline) on its future.
//     The caller gets its timeout on time — but the call goes on, on a thread of its own, holding
//     its socket, until the backend answers (never, for a stalled call).  A timeout is not a
//     cancellation (§21).  Its future cannot even be dropped: std::async's future waits for
//     the call in its destructor, so abandoned calls are parked in a list.
//   --sync-timeout socket: the calling thread poll()s its socket for the time left before every
//     read, and closes it at the deadline.  The call really ends — because the code doing the
//     I/O was written to honour the deadline.
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/03-timeouts/scenario.hpp"
#include "common/deadline_stream.hpp"
#include "common/defer.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace timeouts {

namespace {

// The sockets of calls in progress, so that at the very end the harness can shut down the ones
// that were abandoned and let their threads finish.  A real program has no such hook: its
// abandoned calls run until the peer answers, or forever.
class OpenSockets {
 public:
  void add(int fd) {
    std::lock_guard lock(mu_);
    fds_.insert(fd);
  }
  void remove(int fd) {
    std::lock_guard lock(mu_);
    fds_.erase(fd);
  }
  void shut_all_down() {
    std::lock_guard lock(mu_);
    for (const int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  std::mutex mu_;
  std::set<int> fds_;
};

// One call, start to end, on the calling thread.  Without a deadline it blocks for as long as
// the backend takes.  With one, its stream poll()s for the time left before each read and the
// call returns nullopt at the deadline — closing the socket as it returns, so the call is over.
std::optional<Answer> blocking_call(asio::io_context& io, const tcp::endpoint& endpoint, const wb::WorkRequest& request,
                                    std::optional<Clock::time_point> deadline, Tally& tally, OpenSockets& open) {
  const Running running(tally.running);
  const auto task = static_cast<std::int64_t>(request.id);
  tcp::socket socket(io);
  socket.open(tcp::v4());
  const int fd = socket.native_handle();
  open.add(fd);
  const wb::Defer forget([&] { open.remove(fd); });
  wb::event(task, "connect");
  socket.connect(endpoint);
  http::request<http::empty_body> req{http::verb::get, request.target(), 11};
  req.set(http::field::host, endpoint.address().to_string());
  req.keep_alive(false);
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  wb::DeadlineStream stream(socket);
  if (deadline) stream.expires_at(*deadline);  // else never: maybe forever, for a stalled call
  beast::error_code ec;
  wb::event(task, "wait for the answer");
  http::read(stream, buffer, res, ec);  // parks this thread until the answer is in, or the deadline
  if (!ec) wb::event(task, "answer");
  if (ec == beast::error::timeout) {
    ++tally.deadline_completions;  // the deadline: the read ended, as a value
    return std::nullopt;
  }
  if (ec) throw beast::system_error(ec);
  return Answer{res.result_int(), res.body()};
}

}  // namespace

wb::Outcome run_sync(const Params& params, const Workload& workload, wb::Run& run) {
  const tcp::endpoint endpoint(asio::ip::make_address(workload.endpoint().host), workload.endpoint().port);
  asio::io_context io;  // sockets need one; nobody runs it: every call blocks its thread
  const bool use_future = params.sync_timeout == "future";
  Tally tally(workload.size());
  OpenSockets open;
  std::atomic<std::size_t> next_call{0};
  // Calls whose caller timed out while they ran on: their futures would block in their
  // destructors, so they wait here until the end of the run.
  std::mutex abandoned_mutex;
  std::vector<std::future<Answer>> abandoned;

  // One worker: takes the next call, makes it with a deadline, records how it ended.
  auto worker = [&] {
    for (std::size_t i; (i = next_call++) < workload.size();) {
      const auto& request = workload.requests()[i];
      auto& result = tally.results[i];
      const wb::Span span(static_cast<std::int64_t>(i), "call " + std::to_string(i));
      const auto start = Clock::now();
      const auto deadline = start + std::chrono::milliseconds(params.deadline_ms);
      try {
        std::optional<Answer> answer;
        if (use_future) {
          auto future = std::async(std::launch::async, [&, i] {
            return *blocking_call(io, endpoint, workload.requests()[i], std::nullopt, tally, open);
          });
          if (future.wait_until(deadline) == std::future_status::ready) {
            answer = future.get();
          } else {
            std::lock_guard lock(abandoned_mutex);
            abandoned.push_back(std::move(future));  // the caller moves on; the call does not
          }
        } else {
          answer = blocking_call(io, endpoint, request, deadline, tally, open);
        }
        if (answer) {
          result = {CallStatus::ok, wb::check_answer(request, answer->status, answer->body)};
          run.latency().record((Clock::now() - start).count());
        } else {
          result.status = CallStatus::timed_out;
          tally.overshoot.record((Clock::now() - deadline).count());
          wb::event(static_cast<std::int64_t>(i), "timed out");
        }
      } catch (const std::exception&) {
        result.status = CallStatus::failed;
      }
    }
  };
  {
    std::vector<std::jthread> workers;
    for (std::int64_t k = 0; k < params.concurrency; ++k) workers.emplace_back(worker);
  }  // every caller has its answer or its timeout here

  const std::int64_t still_running = tally.running;
  record(tally, still_running, run);
  // Only now end the abandoned calls (see OpenSockets), so the process can exit.
  open.shut_all_down();
  abandoned.clear();
  return {static_cast<std::uint64_t>(workload.size()), digest_of(tally.results)};
}

}  // namespace timeouts
