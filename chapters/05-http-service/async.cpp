// Chapter 05, the coroutine model: a coroutine per connection (Beast's http_server_awaitable
// shape).  A connection waiting for its next request is a suspended coroutine frame and a
// socket in epoll, not a thread; T threads (--threads, default: the cores) run all of them.
//
// Two ways to use T cores (--shape):
//   shared     one io_context run by T threads: any thread may resume any connection, so load
//              spreads, at the price of a lock inside the io_context and a strand per connection;
//   reuseport  one io_context per thread, each with its own acceptor on the same port
//              (SO_REUSEPORT): the kernel spreads connections, nothing is shared — but a
//              connection stays on its thread however busy that thread gets.
// Asio does no work stealing (Tokio does, §12): a thread whose connections are busy is not
// helped by an idle one in either shape.
//
// Timeouts come from beast::tcp_stream (expires_after): the pending read is cancelled and
// completes with error::timeout — the operation really ends, unlike a timed-out future.
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "chapters/05-http-service/servers.hpp"
#include "chapters/05-http-service/service.hpp"

namespace http_service {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// The connections alive, so a drain can wake the idle ones.  Each handle is touched only on
// its connection's strand, except `idle`, which the drain reads.
struct Connection {
  asio::any_io_executor strand;          // fixed at accept
  beast::tcp_stream* stream = nullptr;  // touched on the strand only; null once the session ended
  std::atomic<bool> idle{true};
};

struct Registry {
  std::mutex mutex;
  std::list<std::shared_ptr<Connection>> alive;
};

int beast_status_for(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  return 400;
}

// One connection: wait (idle timeout) for a request to begin, read it whole (read timeout),
// answer it, repeat while the client keeps the connection and we are not draining.
asio::awaitable<void> session(beast::tcp_stream stream, const Config& cfg, State& state, std::shared_ptr<Connection> me) {
  me->stream = &stream;
  beast::flat_buffer buffer;
  for (;;) {
    // Idle: between requests.  Say so before looking at `draining`, so a drain either sees us
    // idle (and wakes us) or we see it (and leave): no connection slips between the two.
    me->idle = true;
    if (state.draining) break;
    if (buffer.size() == 0) {
      stream.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
      if (ec == beast::error::timeout) ++state.timeouts;
      if (ec) break;  // timeout, the client closed, or a drain cancelled the read
      buffer.commit(n);
    }
    me->idle = false;

    stream.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.header_limit);
    parser.body_limit(cfg.body_limit);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (ec == beast::error::timeout) {
      ++state.timeouts;  // slowloris: a request that never completes loses its connection
      break;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset) break;
    if (ec) {
      ++state.bad;  // malformed, or over a limit: say which, then close
      auto err = error_response(beast_status_for(ec), ec.message());
      co_await http::async_write(stream, err, use_nothrow);
      break;
    }

    const Request& req = parser.get();
    ++state.requests;
    ++state.in_flight;
    const Plan plan = handle_request(req, state);
    if (plan.delay_ms > 0) {  // the downstream call
      asio::steady_timer wait(stream.get_executor(), std::chrono::milliseconds(plan.delay_ms));
      co_await wait.async_wait(use_nothrow);
    }
    Response res = respond(req, plan, state);
    if (plan.status >= 400) ++state.bad;
    stream.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));  // a client that never reads
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
    --state.in_flight;
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// Runs a session and takes it off the registry when it ends, however it ends.
asio::awaitable<void> tracked_session(tcp::socket socket, const Config& cfg, State& state, Registry& registry,
                                      std::shared_ptr<Connection> me) {
  struct Leave {
    Registry& registry;
    State& state;
    std::shared_ptr<Connection> me;
    ~Leave() {
      me->stream = nullptr;
      std::lock_guard lock(registry.mutex);
      registry.alive.remove(me);
      --state.connections;
    }
  } leave{registry, state, me};
  co_await session(beast::tcp_stream(std::move(socket)), cfg, state, me);
}

asio::awaitable<void> turn_away(tcp::socket socket) {
  auto res = over_limit_response();
  co_await http::async_write(socket, res, use_nothrow);
}

void report(const char* what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << "http-server (async): " << what << ": " << ex.what() << '\n';
  }
}

// Takes one accepted connection: turned away over the limit, else a session of its own.
void admit(tcp::socket socket, const Config& cfg, State& state, Registry& registry) {
  const auto ex = socket.get_executor();
  if (state.connections >= cfg.max_connections) {
    ++state.rejected;
    asio::co_spawn(ex, turn_away(std::move(socket)), [](std::exception_ptr e) { report("turning away", e); });
    return;
  }
  auto me = std::make_shared<Connection>();
  me->strand = ex;
  {
    std::lock_guard lock(registry.mutex);
    registry.alive.push_back(me);
    ++state.connections;
  }
  asio::co_spawn(ex, tracked_session(std::move(socket), cfg, state, registry, me),
                 [](std::exception_ptr e) { report("session", e); });
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, const Config& cfg, State& state, Registry& registry) {
  auto& ioc = static_cast<asio::io_context&>(acceptor.get_executor().context());
  // Each connection gets a strand: in the shared shape several threads run this io_context,
  // and the drain posts to a connection from outside.
  acceptor.non_blocking(true);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), use_nothrow);
    if (ec == asio::error::operation_aborted || state.draining) co_return;
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

// Cancels the pending operation of every connection (idle ones only, unless `all`), each on its
// own strand.
void wake(Registry& registry, bool all) {
  std::lock_guard lock(registry.mutex);
  for (const auto& c : registry.alive) {
    if (!all && !c->idle) continue;
    asio::post(c->strand, [c] {
      if (c->stream) c->stream->cancel();
    });
  }
}

// SIGTERM/SIGINT: stop accepting, wake idle connections, give in-flight requests drain_ms,
// then cancel what is left.
asio::awaitable<void> drain_on_signal(asio::signal_set& signals, std::vector<tcp::acceptor*> acceptors,
                                      const Config& cfg, State& state, Registry& registry) {
  auto [ec, sig] = co_await signals.async_wait(use_nothrow);
  if (ec) co_return;
  state.draining = true;
  for (auto* a : acceptors) {
    asio::post(a->get_executor(), [a] {
      beast::error_code ignored;
      a->close(ignored);
    });
  }
  wake(registry, false);
  // Poll the count every 10 ms: simpler than a completion signal from every session, and a
  // drain is not a hot path.
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg.drain_ms);
  while (state.connections > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(10));
    co_await tick.async_wait(use_nothrow);
  }
  if (state.connections > 0) {
    if (cfg.verbose) std::cerr << "http-server (async): drain deadline passed; cancelling " << state.connections << '\n';
    wake(registry, true);
  }
}

tcp::acceptor open_acceptor(asio::io_context& ioc, const tcp::endpoint& endpoint, bool reuse_port) {
  // On a strand: the drain closes it from another coroutine, maybe on another thread.
  tcp::acceptor acceptor(asio::make_strand(ioc));
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  if (reuse_port) {
    const int one = 1;
    ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

}  // namespace

int serve_async(const Config& cfg, State& state, Listening& listening) {
  const int threads = std::max(1, cfg.threads);
  const bool per_thread = cfg.shape == "reuseport";
  // shared: one io_context, told how many threads will run it; reuseport: one per thread, each
  // run by one thread (the concurrency hint 1 lets Asio drop its internal locking).
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int i = 0; i < (per_thread ? threads : 1); ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(per_thread ? 1 : threads));
  }

  tcp::endpoint endpoint(asio::ip::make_address(cfg.host), cfg.port);
  std::vector<tcp::acceptor> acceptors;
  acceptors.push_back(open_acceptor(*contexts[0], endpoint, per_thread));
  endpoint.port(acceptors[0].local_endpoint().port());  // port 0: the others bind the port the kernel chose
  for (std::size_t i = 1; i < contexts.size(); ++i) acceptors.push_back(open_acceptor(*contexts[i], endpoint, true));

  Registry registry;
  std::vector<tcp::acceptor*> acceptor_ptrs;
  for (auto& a : acceptors) acceptor_ptrs.push_back(&a);
  for (auto& a : acceptors) {
    asio::co_spawn(a.get_executor(), listen(a, cfg, state, registry), [](std::exception_ptr e) { report("acceptor", e); });
  }
  asio::signal_set signals(*contexts[0], SIGINT, SIGTERM);
  asio::co_spawn(*contexts[0], drain_on_signal(signals, acceptor_ptrs, cfg, state, registry),
                 [](std::exception_ptr e) { report("drain", e); });
  listening(endpoint.port());

  std::vector<std::thread> runners;
  for (int i = 1; i < threads; ++i) {
    auto& ioc = *contexts[per_thread ? static_cast<std::size_t>(i) : 0];
    runners.emplace_back([&ioc] { ioc.run(); });
  }
  contexts[0]->run();
  for (auto& t : runners) t.join();
  if (cfg.verbose) std::cerr << "http-server (async): drained\n";
  return state.connections == 0 ? 0 : 1;
}

}  // namespace http_service
