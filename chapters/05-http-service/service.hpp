// Chapter 05 — what both HTTP servers share word for word: the configuration, the state a
// health check reads, and the request handler.  Only how a connection is served differs:
// a thread blocked on it (sync.cpp) or a coroutine suspended on it (async.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

namespace http_service {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Config {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int threads = 1;                        // async: threads running the io_context(s)
  std::string shape = "shared";           // async: "shared" (one io_context, T threads) | "reuseport" (one per thread)
  std::int64_t max_connections = 10'000;  // more at once are answered 503 and closed
  std::int64_t read_timeout_ms = 5'000;   // a request must arrive whole within this (slowloris)
  std::int64_t idle_timeout_ms = 30'000;  // a keep-alive connection may wait this long for its next request
  std::int64_t drain_ms = 5'000;          // after SIGTERM: how long in-flight requests may take
  std::int64_t startup_ms = 0;            // readyz says 503 "starting" this long after listening
  std::int64_t unready_ms = 0;            // after SIGTERM, readyz says 503 "draining" this long while the
                                          // service still accepts and serves; then the drain begins
  std::uint32_t header_limit = 8 * 1024;  // bytes; more is a 431
  std::uint64_t body_limit = 64 * 1024;   // bytes; more is a 413
  bool verbose = false;
};

// What the health endpoints and the drain read; written by the server, read by any connection.
struct State {
  std::atomic<bool> started{false};   // start-up done: readyz may say 200
  std::atomic<bool> unready{false};   // SIGTERM seen: readyz says 503; all else as before, --unready-ms
  std::atomic<bool> draining{false};  // then: no more accepts, keep-alive ends, idle connections close
  std::atomic<std::int64_t> connections{0};
  std::atomic<std::int64_t> in_flight{0};  // requests read and not yet answered
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> rejected{0};  // connections over --max-connections
  std::atomic<std::uint64_t> timeouts{0};  // connections closed by the read or idle timeout
  std::atomic<std::uint64_t> bad{0};       // requests answered 4xx
};

// The routes:
//   GET /work?delay_ms=D&bytes=B   D ms of simulated downstream latency, then B bytes
//   GET /healthz                   liveness: 200 while the process serves
//   GET /readyz                    readiness: 503 while starting or draining, else 200; JSON says why
//   GET /stats                     connections, requests in flight, totals (JSON)
// The handler does not wait itself — waiting is the one thing the two models do differently —
// it says how long to wait, and `respond` makes the answer afterwards.
struct Plan {
  unsigned status = 200;
  std::int64_t delay_ms = 0;  // wait this long before respond()
  std::int64_t bytes = 0;     // /work: the body's size
  std::string body;           // anything else: the body
  std::string type = "text/plain";
};

Plan handle_request(const Request& req, const State& state);
// The answer, after the wait.  Keep-alive as the client asked, except while draining.
Response respond(const Request& req, const Plan& plan, const State& state);

// An answer for a request that could not be read (Beast's parse error): 400, 413 or 431; the
// connection closes after it.
Response error_response(int status, const std::string& why);

// The answer for a request Beast could not parse: 431 (header over the limit), 413 (body over
// the limit) or 400, saying why.
Response parse_error_response(const boost::system::error_code& ec);

// "503 Service Unavailable" for a connection over the limit, before any request is read.
Response over_limit_response();

// Both servers' listening socket: bound to cfg.host:port and listening (port 0: the kernel
// chooses); reuse_port lets several acceptors share one port (05's reuseport shape).
boost::asio::ip::tcp::acceptor open_acceptor(const boost::asio::any_io_executor& executor, const Config& cfg,
                                             unsigned short port, bool reuse_port);

// The connections alive, so that a drain can wake the idle ones and wait for the others.  A
// plain mutex: it is taken twice per connection and once per drain.  Each server has its own
// Connection type (a socket, or a stream and its strand) with an `idle` flag.
template <class Connection>
class Registry {
 public:
  using Ptr = std::shared_ptr<Connection>;
  void add(const Ptr& c, State& state) {
    std::lock_guard lock(mutex_);
    alive_.push_back(c);
    ++state.connections;
  }
  // Takes the connection off; `last` runs under the lock first (the blocking server closes its
  // socket there, so a drain never shuts down a descriptor the OS has given to someone else).
  void remove(const Ptr& c, State& state, const std::function<void()>& last = {}) {
    {
      std::lock_guard lock(mutex_);
      if (last) last();
      alive_.remove(c);
      --state.connections;
    }
    all_closed_.notify_all();
  }
  // Calls f(connection) for every one alive, under the lock: none can leave meanwhile.
  template <class F>
  void for_each(F f) {
    std::lock_guard lock(mutex_);
    for (const auto& c : alive_) f(c);
  }
  // Waits up to `timeout` for every connection to leave; true when they have.
  bool wait_all_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return all_closed_.wait_for(lock, timeout, [this] { return alive_.empty(); });
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_closed_;
  std::list<Ptr> alive_;
};

}  // namespace http_service
