// Chapter 05, the coroutine model: a coroutine per connection (Beast's http_server_awaitable
// shape).  Twin of sync.cpp: `diff sync.cpp async.cpp` is the lesson.
//
// A connection waiting for its next request is a suspended coroutine frame and a socket in
// epoll, not a thread; T threads (--threads, default: the cores) run all of them, spread as
// event_loops.hpp says (--shape).  Timeouts: beast::tcp_stream cancels the pending operation
// at the deadline — the operation really ends, unlike a timed-out future.
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <tuple>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "chapters/05-http-service/event_loops.hpp"
#include "chapters/05-http-service/servers.hpp"
#include "chapters/05-http-service/service.hpp"
#include "common/defer.hpp"

namespace http_service {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);  // errors as values

// One connection: its stream (on the connection's strand), and whether it waits between
// requests.  Everything but `idle` is touched on the strand only.
struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  std::atomic<bool> idle{true};
};
using Connections = Registry<Connection>;

// One connection: wait (idle timeout) for a request to begin, read it whole (read timeout),
// answer it, repeat while the client keeps the connection and we are not draining.
asio::awaitable<void> session(Connection& me, const Config& cfg, State& state) {
  beast::tcp_stream& stream = me.stream;
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (std::size_t n = 0;;) {
    // Idle: between requests.  Say so before looking at `draining`, so a drain either sees us
    // idle (and wakes us) or we see it (and leave): no connection slips between the two.
    me.idle = true;
    if (state.draining) break;
    if (buffer.size() == 0) {
      stream.expires_after(milliseconds(cfg.idle_timeout_ms));
      std::tie(ec, n) = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);  // suspends this connection
      if (ec == beast::error::timeout) ++state.timeouts;
      if (ec) break;  // timeout, the client closed, or a drain cancelled the read
      buffer.commit(n);
    }
    me.idle = false;

    stream.expires_after(milliseconds(cfg.read_timeout_ms));
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.header_limit);
    parser.body_limit(cfg.body_limit);
    std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (ec == beast::error::timeout) {
      ++state.timeouts;  // slowloris: a request that never completes loses its connection
      break;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset) break;
    if (ec) {
      ++state.bad;  // malformed, or over a limit: say which, then close
      auto err = parse_error_response(ec);
      std::tie(ec, n) = co_await http::async_write(stream, err, use_nothrow);
      break;
    }

    const Request& req = parser.get();
    ++state.requests;
    ++state.in_flight;
    const Plan plan = handle_request(req, state);
    if (plan.delay_ms > 0) {
      // The downstream call: suspends this connection.
      co_await asio::steady_timer(stream.get_executor(), milliseconds(plan.delay_ms)).async_wait(use_nothrow);
    }
    Response res = respond(req, plan, state);
    if (plan.status >= 400) ++state.bad;
    stream.expires_after(milliseconds(cfg.read_timeout_ms));  // a client that never reads
    std::tie(ec, n) = co_await http::async_write(stream, res, use_nothrow);
    --state.in_flight;
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Runs a session and takes it off the registry when it ends, however it ends.  It owns what it
// uses (taken by value, as Beast's examples do): the coroutine outlives the call that started it.
asio::awaitable<void> serve_connection(std::shared_ptr<Connection> me, std::shared_ptr<const Config> cfg,
                                       std::shared_ptr<State> state, std::shared_ptr<Connections> registry) {
  const wb::Defer leave([&] { registry->remove(me, *state); });
  co_await session(*me, *cfg, *state);
}

asio::awaitable<void> turn_away(tcp::socket socket) {
  auto res = over_limit_response();
  co_await http::async_write(socket, res, use_nothrow);
}

// The exception policy of every coroutine started here: expected errors are values; anything
// thrown is reported and ends that coroutine only.
auto report(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "http-server (async): " << what << ": " << ex.what() << '\n';
    }
  };
}

// Takes one accepted connection: turned away over the limit, else a coroutine of its own.
void admit(tcp::socket socket, const std::shared_ptr<const Config>& cfg, const std::shared_ptr<State>& state,
           const std::shared_ptr<Connections>& registry) {
  if (state->connections >= cfg->max_connections) {
    ++state->rejected;
    const auto ex = socket.get_executor();
    asio::co_spawn(ex, turn_away(std::move(socket)), report("turning away"));
    return;
  }
  auto me = std::make_shared<Connection>(std::move(socket));
  registry->add(me, *state);
  asio::co_spawn(me->stream.get_executor(), serve_connection(me, cfg, state, registry), report("session"));
}

// The accept loop, a coroutine per acceptor: returns once the drain has begun.
asio::awaitable<void> listen(tcp::acceptor& acceptor, std::shared_ptr<const Config> cfg, std::shared_ptr<State> state,
                             std::shared_ptr<Connections> registry) {
  auto& ioc = static_cast<asio::io_context&>(acceptor.get_executor().context());
  // Each connection gets a strand: several threads may run this io_context, and the drain
  // posts to a connection from outside.
  acceptor.non_blocking(true);
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::make_strand(ioc), use_nothrow);  // suspends until a client connects
    if (state->draining || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // a connection reset before accept, or out of descriptors for a moment
    admit(std::move(socket), cfg, state, registry);
    // Then take every connection already waiting, without going back to the queue.  This
    // coroutine is one handler among all the sessions' handlers: accepting one connection per
    // turn of the queue, 1,000 clients arriving at once would wait about a second for the last
    // accept (measured: wrk -c 1000 saw a p99 near 1 s; the blocking server's accept thread
    // does not wait its turn).  A non-blocking accept returns at once when none is waiting.
    for (;;) {
      tcp::socket next(asio::make_strand(ioc));
      beast::error_code aec;
      acceptor.accept(next, aec);
      if (aec) break;  // would_block: none waiting (or an error the async accept will see)
      admit(std::move(next), cfg, state, registry);
    }
  }
}

// Wakes every idle connection (every one, with `all`): cancels its pending operation, on the
// connection's own strand.
void wake(Connections& registry, bool all) {
  registry.for_each([all](const std::shared_ptr<Connection>& c) {
    if (all || c->idle) asio::post(c->stream.get_executor(), [c] { c->stream.cancel(); });
  });
}

// SIGTERM/SIGINT: readyz says 503 for unready_ms while all else goes on (the time a balancer
// needs to stop sending us traffic), then stop accepting, wake idle connections, give in-flight
// requests drain_ms, and cancel what is left.  A coroutine of its own, suspended until a signal
// comes.
asio::awaitable<void> drain_on_signal(asio::signal_set& signals, std::vector<tcp::acceptor>& acceptors,
                                      std::shared_ptr<const Config> cfg, std::shared_ptr<State> state,
                                      std::shared_ptr<Connections> registry) {
  auto [ec, sig] = co_await signals.async_wait(use_nothrow);
  if (ec) co_return;
  state->unready = true;
  asio::steady_timer tick(co_await asio::this_coro::executor);
  tick.expires_after(milliseconds(cfg->unready_ms));
  co_await tick.async_wait(use_nothrow);
  state->draining = true;
  // Each acceptor is closed on its own strand; its pending accept completes with
  // operation_aborted.
  for (auto& acceptor : acceptors) {
    asio::post(acceptor.get_executor(), [&acceptor] {
      beast::error_code ignored;
      acceptor.close(ignored);
    });
  }
  wake(*registry, false);
  // Poll the count every 10 ms: blocking on the registry here would stall this thread's other
  // coroutines, and a drain is not a hot path.
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(cfg->drain_ms);
  while (state->connections > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(milliseconds(10));
    co_await tick.async_wait(use_nothrow);
  }
  if (state->connections > 0) {
    if (cfg->verbose)
      std::cerr << "http-server (async): drain deadline passed; cancelling " << state->connections << '\n';
    wake(*registry, true);
  }
}

}  // namespace

int serve_async(std::shared_ptr<const Config> cfg, std::shared_ptr<State> state, const Listening& listening) {
  // SIGTERM and SIGINT go to a signal_set: its wait completes as an ordinary handler on one of
  // the loops' threads, not in a signal handler that interrupts whichever code happens to run.
  EventLoops loops(*cfg);  // the io_context(s) and their acceptors (--shape)
  asio::signal_set signals(loops.first(), SIGINT, SIGTERM);
  auto registry = std::make_shared<Connections>();
  asio::co_spawn(loops.first(), drain_on_signal(signals, loops.acceptors(), cfg, state, registry), report("drain"));
  listening(loops.port());

  for (auto& acceptor : loops.acceptors())
    asio::co_spawn(acceptor.get_executor(), listen(acceptor, cfg, state, registry), report("acceptor"));
  loops.run();  // on T threads, this one among them, until every loop runs out of work
  if (cfg->verbose) std::cerr << "http-server (async): drained\n";
  // Every coroutine has finished: nothing is left open.
  return state->connections == 0 ? 0 : 1;
}

}  // namespace http_service
