// Chapter 05, the blocking model: a thread per connection (Beast's http_server_sync shape).
// The accepting thread blocks in accept(); each connection's thread blocks in read and write.
// A thread is 8 MiB of reserved stack and ~16 KiB of kernel memory, and the kernel schedules
// them all: simple code, paid for per connection.
//
// Timeouts: a blocking Asio read waits for ever (it ignores SO_RCVTIMEO), so the thread poll()s
// its socket with the time left before every read (DeadlineStream) — the same deadlines the
// coroutine server gets from beast::tcp_stream.
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <poll.h>
#include <sys/socket.h>

#include "chapters/05-http-service/servers.hpp"
#include "chapters/05-http-service/service.hpp"

namespace http_service {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// A SyncReadStream/SyncWriteStream over a blocking socket whose reads give up at a deadline:
// poll() for the time left, then read what is there.  Beast's http::read runs on it unchanged.
struct DeadlineStream {
  tcp::socket& socket;
  Clock::time_point deadline;

  using executor_type = tcp::socket::executor_type;
  executor_type get_executor() { return socket.get_executor(); }

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd readable{socket.native_handle(), POLLIN, 0};
      const int ready = left <= 0 ? 0 : ::poll(&readable, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        ec = beast::error::timeout;
        return 0;
      }
      return socket.read_some(buffers, ec);  // readable (or an error poll saw): this does not block
    }
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    const auto n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers, beast::error_code& ec) {
    return socket.write_some(buffers, ec);
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers) {
    return socket.write_some(buffers);
  }
};

// The connections alive, so a drain can wake the idle ones.  A std::mutex, not anything
// cleverer: it is taken twice per connection and once per drain.
struct Connection {
  int fd = -1;
  std::atomic<bool> idle{true};
};

struct Registry {
  std::mutex mutex;
  std::condition_variable all_closed;
  std::list<Connection*> alive;
};

int beast_status_for(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  return 400;
}

// One connection: wait (idle timeout) for a request to begin, read it whole (read timeout),
// answer it, repeat while the client keeps the connection and we are not draining.
void session(tcp::socket& socket, const Config& cfg, State& state, Connection& me) {
  beast::error_code ec;
  beast::flat_buffer buffer;
  DeadlineStream stream{socket, {}};
  for (;;) {
    // Idle: between requests.  Say so before looking at `draining`, so a drain either sees us
    // idle (and wakes us) or we see it (and leave): no connection slips between the two.
    me.idle = true;
    if (state.draining) break;
    if (buffer.size() == 0) {
      stream.deadline = Clock::now() + std::chrono::milliseconds(cfg.idle_timeout_ms);
      const auto n = stream.read_some(buffer.prepare(4096), ec);
      if (ec == beast::error::timeout) ++state.timeouts;
      if (ec) break;  // timeout, the client closed, or a drain shut our read side
      buffer.commit(n);
    }
    me.idle = false;

    stream.deadline = Clock::now() + std::chrono::milliseconds(cfg.read_timeout_ms);
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.header_limit);
    parser.body_limit(cfg.body_limit);
    http::read(stream, buffer, parser, ec);
    if (ec == beast::error::timeout) {
      ++state.timeouts;  // slowloris: a request that never completes loses its thread
      break;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset) break;
    if (ec) {
      ++state.bad;  // malformed, or over a limit: say which, then close
      http::write(socket, error_response(beast_status_for(ec), ec.message()), ec);
      break;
    }

    const Request& req = parser.get();
    ++state.requests;
    ++state.in_flight;
    const Plan plan = handle_request(req, state);
    if (plan.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(plan.delay_ms));  // the downstream call
    Response res = respond(req, plan, state);
    if (plan.status >= 400) ++state.bad;
    http::write(socket, res, ec);
    --state.in_flight;
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

int serve_sync(const Config& cfg, State& state, Listening& listening) {
  // SIGTERM and SIGINT go to one thread that waits for them (sigwait), not to a handler that
  // interrupts whichever thread happens to run: blocked here, before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  asio::io_context ioc;  // only for the sockets' sake: nothing runs it
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint endpoint(asio::ip::make_address(cfg.host), cfg.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  listening(acceptor.local_endpoint().port());

  Registry registry;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    state.draining = true;
    // A blocked accept() returns once its socket is shut down (close() from another thread is
    // not safe in Asio); then the idle connections are woken the same way, read side only, so
    // a connection answering a request still writes its answer.
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    std::lock_guard lock(registry.mutex);
    for (auto* c : registry.alive) {
      if (c->idle) ::shutdown(c->fd, SHUT_RD);
    }
  });

  for (;;) {
    tcp::socket socket(ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    if (state.draining) break;
    if (ec) continue;  // a connection reset before accept, or out of descriptors for a moment
    if (state.connections >= cfg.max_connections) {
      ++state.rejected;
      http::write(socket, over_limit_response(), ec);
      continue;  // the socket closes here
    }
    auto* conn = new Connection;
    conn->fd = socket.native_handle();
    {
      std::lock_guard lock(registry.mutex);
      registry.alive.push_back(conn);
      ++state.connections;
    }
    // Not joined, like Beast's example: the registry, not join(), tells us when all are done.
    // The socket is destroyed before the thread leaves the registry: once the registry is
    // empty, nothing of this function's (the io_context, cfg, state) is touched again but the
    // mutex the last thread is unlocking.
    auto* owned = new tcp::socket(std::move(socket));
    try {
      std::thread([conn, owned, &cfg, &state, &registry] {
        std::unique_ptr<tcp::socket> s(owned);
        session(*s, cfg, state, *conn);
        // Close under the lock: a drain looking at this connection's descriptor must not find
        // it reused by a newer connection.
        std::lock_guard lock(registry.mutex);
        s.reset();
        registry.alive.remove(conn);
        --state.connections;
        registry.all_closed.notify_all();
        delete conn;
      }).detach();
    } catch (const std::system_error& e) {
      // The thread limit (pid_max, RLIMIT_NPROC, memory): this model's ceiling.  Say so once
      // and turn the connection away; the server goes on.
      static std::once_flag said;
      std::call_once(said, [&] { std::cerr << "http-server (sync): cannot start a thread: " << e.what() << '\n'; });
      http::write(*owned, over_limit_response(), ec);
      delete owned;
      std::lock_guard lock(registry.mutex);
      registry.alive.remove(conn);
      --state.connections;
      ++state.rejected;
      delete conn;
    }
  }

  // Drain: in-flight requests get drain_ms to finish; then every socket is shut down.
  std::unique_lock lock(registry.mutex);
  const bool drained = registry.all_closed.wait_for(lock, std::chrono::milliseconds(cfg.drain_ms),
                                                    [&] { return registry.alive.empty(); });
  if (!drained) {
    for (auto* c : registry.alive) ::shutdown(c->fd, SHUT_RDWR);
    registry.all_closed.wait_for(lock, std::chrono::seconds(5), [&] { return registry.alive.empty(); });
  }
  const bool clean = registry.alive.empty();
  lock.unlock();
  waiter.join();
  if (cfg.verbose) std::cerr << "http-server (sync): drained " << (drained ? "in time" : "late") << '\n';
  if (!clean) {
    // A connection's thread still running holds references to cfg and state: returning would pull them
    // from under it.  Leave without unwinding.
    std::cerr << "http-server (sync): connections still open after the drain; exiting anyway\n";
    std::_Exit(1);
  }
  return 0;
}

}  // namespace http_service
