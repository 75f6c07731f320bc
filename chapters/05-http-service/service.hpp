// Chapter 05 — what both HTTP servers share word for word: the configuration, the state a
// health check reads, and the request handler.  Only how a connection is served differs:
// a thread blocked on it (sync.cpp) or a coroutine suspended on it (async.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace http_service {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Config {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int threads = 1;                   // async: threads running the io_context(s)
  std::string shape = "shared";      // async: "shared" (one io_context, T threads) | "reuseport" (one per thread)
  std::int64_t max_connections = 10'000;  // more at once are answered 503 and closed
  std::int64_t read_timeout_ms = 5'000;   // a request must arrive whole within this (slowloris)
  std::int64_t idle_timeout_ms = 30'000;  // a keep-alive connection may wait this long for its next request
  std::int64_t drain_ms = 5'000;          // after SIGTERM: how long in-flight requests may take
  std::int64_t startup_ms = 0;            // readyz says 503 "starting" this long after listening
  std::uint32_t header_limit = 8 * 1024;  // bytes; more is a 431
  std::uint64_t body_limit = 64 * 1024;   // bytes; more is a 413
  bool verbose = false;
};

// What the health endpoints and the drain read; written by the server, read by any connection.
struct State {
  std::atomic<bool> started{false};     // start-up done: readyz may say 200
  std::atomic<bool> draining{false};    // SIGTERM seen: readyz says 503, keep-alive ends
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

// "503 Service Unavailable" for a connection over the limit, before any request is read.
Response over_limit_response();

}  // namespace http_service
