// Chapter 05, the blocking model: a thread per connection (Beast's http_server_sync shape).
// Twin of async.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// The accepting thread blocks in accept(); each connection's thread blocks in read and write.
// A thread is 8 MiB of reserved stack and ~16 KiB of kernel memory, and the kernel schedules
// them all: simple code, paid for per connection.  Timeouts: DeadlineStream poll()s the socket
// with the time left before every read and write.
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include <sys/socket.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "chapters/05-http-service/servers.hpp"
#include "chapters/05-http-service/service.hpp"
#include "common/deadline_stream.hpp"
#include "common/defer.hpp"
#include "common/threads.hpp"

namespace http_service {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

// One connection: its socket, and whether it waits between requests.  The io_context is
// shared: a connection's thread may outlive serve_sync, and a socket needs its io_context.
struct Connection {
  Connection(std::shared_ptr<asio::io_context> context, tcp::socket s)
      : ioc(std::move(context)), socket(std::move(s)) {}
  void close() {
    beast::error_code ignored;
    socket.close(ignored);
  }
  std::shared_ptr<asio::io_context> ioc;  // declared first: it outlives the socket
  tcp::socket socket;
  std::atomic<bool> idle{true};
};
using Connections = Registry<Connection>;

// One connection: wait (idle timeout) for a request to begin, read it whole (read timeout),
// answer it, repeat while the client keeps the connection and we are not draining.
void session(Connection& me, const Config& cfg, State& state) {
  wb::DeadlineStream stream(me.socket);
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    // Idle: between requests.  Say so before looking at `draining`, so a drain either sees us
    // idle (and wakes us) or we see it (and leave): no connection slips between the two.
    me.idle = true;
    if (state.draining) break;
    if (buffer.size() == 0) {
      stream.expires_after(milliseconds(cfg.idle_timeout_ms));
      const auto n = stream.read_some(buffer.prepare(4096), ec);  // parks this thread
      if (ec == beast::error::timeout) ++state.timeouts;
      if (ec) break;  // timeout, the client closed, or a drain shut our read side
      buffer.commit(n);
    }
    me.idle = false;

    stream.expires_after(milliseconds(cfg.read_timeout_ms));
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.header_limit);
    parser.body_limit(cfg.body_limit);
    http::read(stream, buffer, parser, ec);
    if (ec == beast::error::timeout) {
      ++state.timeouts;  // slowloris: a request that never completes loses its connection
      break;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset) break;
    if (ec) {
      ++state.bad;  // malformed, or over a limit: say which, then close
      auto err = parse_error_response(ec);
      http::write(stream, err, ec);
      break;
    }

    const Request& req = parser.get();
    ++state.requests;
    ++state.in_flight;
    const Plan plan = handle_request(req, state);
    if (plan.delay_ms > 0) {
      // The downstream call: parks this thread.
      std::this_thread::sleep_for(milliseconds(plan.delay_ms));
    }
    Response res = respond(req, plan, state);
    if (plan.status >= 400) ++state.bad;
    stream.expires_after(milliseconds(cfg.read_timeout_ms));  // a client that never reads
    http::write(stream, res, ec);
    --state.in_flight;
    if (ec || !res.keep_alive()) break;
  }
  me.socket.shutdown(tcp::socket::shutdown_send, ec);
}

// Runs a session and takes it off the registry when it ends, however it ends.  It owns what it
// uses: the thread is not joined (like Beast's example) and may outlive serve_sync.
void serve_connection(std::shared_ptr<Connection> me, std::shared_ptr<const Config> cfg, std::shared_ptr<State> state,
                      std::shared_ptr<Connections> registry) {
  // Close under the registry's lock: a drain must not shut down a descriptor reused meanwhile.
  const wb::Defer leave([&] { registry->remove(me, *state, [&] { me->close(); }); });
  session(*me, *cfg, *state);
}

void turn_away(tcp::socket& socket) {
  beast::error_code ignored;
  http::write(socket, over_limit_response(), ignored);
}

// Takes one accepted connection: turned away over the limit, else a thread of its own.
void admit(tcp::socket socket, const std::shared_ptr<const Config>& cfg, const std::shared_ptr<State>& state,
           const std::shared_ptr<Connections>& registry, const std::shared_ptr<asio::io_context>& ioc) {
  if (state->connections >= cfg->max_connections) {
    ++state->rejected;
    turn_away(socket);
    return;
  }
  auto me = std::make_shared<Connection>(ioc, std::move(socket));
  registry->add(me, *state);
  try {
    std::thread(serve_connection, me, cfg, state, registry).detach();
  } catch (const std::system_error& e) {
    // The thread limit (pid_max, RLIMIT_NPROC, memory): this model's ceiling.  Say so once and
    // turn the connection away; the server goes on.
    static std::once_flag said;
    std::call_once(said, [&] { std::cerr << "http-server (sync): cannot start a thread: " << e.what() << '\n'; });
    ++state->rejected;
    turn_away(me->socket);
    registry->remove(me, *state, [&] { me->close(); });
  }
}

// The accept loop, on the calling thread: returns once the drain has begun.
void listen(tcp::acceptor& acceptor, const std::shared_ptr<const Config>& cfg, const std::shared_ptr<State>& state,
            const std::shared_ptr<Connections>& registry, const std::shared_ptr<asio::io_context>& ioc) {
  for (;;) {
    tcp::socket socket(*ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);  // parks this thread until a client connects
    if (state->draining) return;
    if (ec) continue;  // a connection reset before accept, or out of descriptors for a moment
    admit(std::move(socket), cfg, state, registry, ioc);
  }
}

// Wakes every idle connection (every one, with `all`): shuts its socket down under its thread
// — the read side only for an idle one, so a connection answering a request still answers.
void wake(Connections& registry, bool all) {
  registry.for_each([all](const std::shared_ptr<Connection>& c) {
    if (all || c->idle) ::shutdown(c->socket.native_handle(), all ? SHUT_RDWR : SHUT_RD);
  });
}

// SIGTERM/SIGINT: readyz says 503 for unready_ms while all else goes on (the time a balancer
// needs to stop sending us traffic), then stop accepting, wake idle connections, give in-flight
// requests drain_ms, and shut down what is left.  A thread of its own, parked in sigwait until a
// signal comes.
void drain_on_signal(tcp::acceptor& acceptor, const Config& cfg, State& state, Connections& registry) {
  const sigset_t signals = wb::stop_signals();
  int sig = 0;
  sigwait(&signals, &sig);
  state.unready = true;
  std::this_thread::sleep_for(milliseconds(cfg.unready_ms));
  state.draining = true;
  // A blocked accept() returns once its socket is shut down (close() from another thread is not
  // safe in Asio).
  ::shutdown(acceptor.native_handle(), SHUT_RDWR);
  wake(registry, false);
  if (!registry.wait_all_closed(milliseconds(cfg.drain_ms))) {
    if (cfg.verbose)
      std::cerr << "http-server (sync): drain deadline passed; shutting down " << state.connections << '\n';
    wake(registry, true);
    registry.wait_all_closed(std::chrono::seconds(5));
  }
}

}  // namespace

int serve_sync(std::shared_ptr<const Config> cfg, std::shared_ptr<State> state, const Listening& listening) {
  // SIGTERM and SIGINT go to the thread that waits for them (sigwait), not to a handler that
  // interrupts whichever thread happens to run: blocked here, before any thread starts.
  wb::block_stop_signals();
  auto ioc = std::make_shared<asio::io_context>();  // only for the sockets' sake: nothing runs it
  tcp::acceptor acceptor = open_acceptor(ioc->get_executor(), *cfg, cfg->port, false);
  auto registry = std::make_shared<Connections>();
  std::thread drain([&] { drain_on_signal(acceptor, *cfg, *state, *registry); });
  listening(acceptor.local_endpoint().port());

  listen(acceptor, cfg, state, registry, ioc);  // on this thread, until the drain begins
  drain.join();
  if (cfg->verbose) std::cerr << "http-server (sync): drained\n";
  // A connection still open here has had its socket shut down; its thread owns what it uses.
  return state->connections == 0 ? 0 : 1;
}

}  // namespace http_service
