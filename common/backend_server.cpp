// workbench-backend — the loopback service the chapters call, so their sub-tasks do real
// socket I/O: GET /work?delay_ms=D&bytes=B&fail=P&stall=P&seed=S&id=N answers after D ms with B
// bytes, or at once with a 500 for a seeded share of ids (fail), or never (stall); &gather=G
// holds each answer until G such requests have arrived; &outage=error|stall&outage_at_ms=T&
// outage_ms=L fails (or never answers) every request that arrives in that window of the
// machine's monotonic clock.
//
// It runs in a process of its own, so its memory, threads and CPU never count in the measured
// chapter's figures.  A coroutine per connection on one io_context run by --threads threads:
// 10,000 connections waiting on timers cost it a few hundred bytes each, not a thread.
//
//   workbench-backend [--host 127.0.0.1] [--port 0] [--threads 2] [--verbose]
// prints "listening HOST:PORT" on stdout once it accepts, and stops on SIGTERM or SIGINT.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/os_limits.hpp"
#include "common/resources.hpp"
#include "common/work_params.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

std::atomic<std::uint64_t> g_requests{0};

http::response<http::string_body> make_response(http::status status, unsigned version, bool keep_alive,
                                                std::string body, const char* type = "text/plain") {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "workbench-backend");
  res.set(http::field::content_type, type);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// gather=N: requests that carry it are answered only once N of them have arrived, so a client
// that sends N calls knows all N are in flight at the same time, however slowly it started
// them (a sanitizer build starts threads ten times slower).  A group is released when its Nth
// request arrives; the next request starts a new group (a request whose client has gone away
// still counts: the group is a count of arrivals).  The waiting list is touched on one strand
// only, so arriving and releasing never race.
class Gathering {
 public:
  explicit Gathering(const asio::any_io_executor& ex) : strand_(asio::make_strand(ex)) {}

  asio::awaitable<void> arrive(std::int64_t n) {
    co_await asio::post(asio::bind_executor(strand_, asio::use_awaitable));  // on the strand from here
    if (static_cast<std::int64_t>(waiting_.size()) + 1 >= n) {
      for (const auto& t : waiting_) t->cancel();  // wakes the others
      waiting_.clear();
      co_return;
    }
    // Owned by the list and by this coroutine: a woken waiter resumes on another thread and may
    // return while the releaser is still inside cancel() — whoever lets go last destroys it.
    // (With the timer on this frame, TSan caught exactly that use after free.)
    auto released = std::make_shared<asio::steady_timer>(strand_, asio::steady_timer::time_point::max());
    waiting_.push_back(released);
    co_await released->async_wait(use_nothrow);  // operation_aborted: the group is complete
  }

 private:
  asio::strand<asio::any_io_executor> strand_;
  std::vector<std::shared_ptr<asio::steady_timer>> waiting_;  // one per request held back
};

// One connection: read a request, answer it, repeat while the client keeps the connection.
// Expected ends (the client closed, garbage arrived) come back as error codes; nothing here
// throws on I/O.
asio::awaitable<void> serve(tcp::socket socket, Gathering& gathering) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    auto [ec, n] = co_await http::async_read(socket, buffer, parser, use_nothrow);
    if (ec) break;
    const auto& req = parser.get();
    ++g_requests;
    std::string error;
    const auto work = req.method() == http::verb::get ? wb::WorkRequest::parse(req.target(), &error) : std::nullopt;
    if (!work) {
      const auto status = req.method() != http::verb::get ? http::status::method_not_allowed
                          : error == "unknown path"       ? http::status::not_found
                                                          : http::status::bad_request;
      auto res = make_response(status, req.version(), req.keep_alive(), error + "\n");
      auto [wec, wn] = co_await http::async_write(socket, res, use_nothrow);
      if (wec || !req.keep_alive()) break;
      continue;
    }
    if (work->gather > 0) co_await gathering.arrive(work->gather);
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    const bool down = work->in_outage(now_ms);
    const bool fails = work->fails() || (down && work->outage == wb::WorkRequest::kOutageError);
    if (work->stalls() || (down && work->outage == wb::WorkRequest::kOutageStall)) {
      // Never answer: hold the connection until the client gives up and closes it.
      char sink[512];
      for (;;) {
        auto [rec, rn] = co_await socket.async_read_some(asio::buffer(sink), use_nothrow);
        if (rec) co_return;
      }
    }
    // A failing call fails fast — a 500 at once, as from a dependency that is down — so a
    // fail-fast caller has siblings still in flight to cancel.  A good answer takes delay_ms.
    if (work->delay_ms > 0 && !fails) {
      asio::steady_timer timer(socket.get_executor(), std::chrono::milliseconds(work->delay_ms));
      co_await timer.async_wait(use_nothrow);
    }
    auto res = fails ? make_response(http::status::internal_server_error, req.version(), req.keep_alive(),
                                     "failed on purpose\n")
                     : make_response(http::status::ok, req.version(), req.keep_alive(), work->body(),
                                     "application/octet-stream");
    auto [wec, wn] = co_await http::async_write(socket, res, use_nothrow);
    if (wec || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, Gathering& gathering) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec == asio::error::operation_aborted) co_return;  // shutting down
    if (ec) {
      // Out of descriptors (EMFILE) or a connection reset before accept: wait a moment, go on.
      // Said once a second at most: at the descriptor limit this repeats every 10 ms.
      static auto last_said = std::chrono::steady_clock::time_point{};
      static std::uint64_t unsaid = 0;
      if (std::chrono::steady_clock::now() - last_said >= std::chrono::seconds(1)) {
        std::cerr << "workbench-backend: accept: " << ec.message()
                  << (unsaid ? " (and " + std::to_string(unsaid) + " more accept errors)" : std::string()) << '\n';
        last_said = std::chrono::steady_clock::now();
        unsaid = 0;
      } else {
        ++unsaid;
      }
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(10));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    socket.set_option(tcp::no_delay(true));
    // Exception policy: serve() reports I/O errors as values; anything else is a bug, printed.
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), gathering), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "workbench-backend: connection: " << ex.what() << '\n';
      }
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"workbench-backend: a loopback HTTP service with controllable latency and failures"};
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 2;
  bool verbose = false;
  app.add_flag("--verbose", verbose, "say where it listens and how many requests it served on stderr");
  app.add_option("--host", host, "address to bind")->capture_default_str();
  app.add_option("--port", port, "port to bind; 0 = any free port")->check(CLI::Range(0, 65535))->capture_default_str();
  app.add_option("--threads", threads, "threads running the io_context")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  // 10,000 concurrent connections need 10,000 descriptors; the default soft limit is 1,024.
  const auto fds = wb::raise_fd_limit();

  try {
    asio::io_context io(threads);
    tcp::acceptor acceptor(io);
    const tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      boost::system::error_code ignored;
      acceptor.close(ignored);
      io.stop();  // a test service: in-flight requests are simply dropped
    });
    Gathering gathering(io.get_executor());
    asio::co_spawn(io, listen(acceptor, gathering), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);  // the accept loop failing is fatal: io.run() throws
    });

    const auto local = acceptor.local_endpoint();
    std::printf("listening %s:%u\n", local.address().to_string().c_str(), local.port());
    std::fflush(stdout);
    if (verbose) std::cerr << "workbench-backend: " << local << ", " << threads << " threads, fd limit " << fds << '\n';

    std::vector<std::jthread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "workbench-backend: " << e.what() << '\n';
    return 1;
  }
  if (verbose) std::cerr << "workbench-backend: served " << g_requests.load() << " requests\n";
  return 0;
}
