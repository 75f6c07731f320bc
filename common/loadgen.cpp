#include "common/loadgen.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "common/os_limits.hpp"
#include "common/resources.hpp"

namespace wb {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::uint64_t LoadResult::error_count() const {
  std::uint64_t n = 0;
  for (const auto& [kind, count] : errors) n += count;
  return n;
}

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct Shared {
  Shared(const LoadSpec& s, Histogram& l, Histogram* u)
      : spec(s), endpoint(asio::ip::make_address(s.server.host), s.server.port), latency(l), uncorrected(u) {}
  const LoadSpec& spec;
  tcp::endpoint endpoint;
  Histogram& latency;
  Histogram* uncorrected;
  Clock::time_point t0, end;
  std::atomic<std::uint64_t> ok{0}, sent{0};
  std::atomic<std::int64_t> last_done_ns{0};  // since t0
  std::mutex mutex;
  std::map<std::string, std::uint64_t> errors;

  void error(const std::string& kind, std::uint64_t n = 1) {
    std::lock_guard lock(mutex);
    errors[kind] += n;
  }
};

std::string kind_of(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  if (ec == http::error::end_of_stream || ec == asio::error::eof) return "closed";
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return "reset";
  if (ec == asio::error::connection_refused) return "connect";
  return "other";
}

asio::awaitable<bool> connect(beast::tcp_stream& stream, const Shared& sh) {
  stream.expires_after(std::chrono::milliseconds(sh.spec.timeout_ms));
  auto [ec] = co_await stream.async_connect(sh.endpoint, use_nothrow);
  if (!ec) stream.socket().set_option(tcp::no_delay(true));
  co_return !ec;
}

// Phase one: open every connection and make one exchange on it before the clock starts.  The
// warm-up answer proves the server has taken the connection in (accepted it, and in a
// thread-per-connection server started its thread), so every connection is being served when
// the clock starts — however slowly the server starts threads.  Its latency is not recorded.
asio::awaitable<void> open(std::optional<beast::tcp_stream>& slot, Shared& sh) {
  // Not `if (!co_await ...)`: g++ 12 miscompiles a co_await inside that condition (SIGILL).
  const bool up = co_await connect(*slot, sh);
  if (!up) {
    sh.error("connect");
    slot.reset();
    co_return;
  }
  http::request<http::empty_body> req{http::verb::get, sh.spec.target, 11};
  req.set(http::field::host, sh.spec.server.host);
  req.set(http::field::user_agent, "workbench-load");
  req.keep_alive(true);
  slot->expires_after(std::chrono::milliseconds(sh.spec.timeout_ms));
  auto [wec, wn] = co_await http::async_write(*slot, req, use_nothrow);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  beast::error_code ec = wec;
  if (!ec) std::tie(ec, std::ignore) = co_await http::async_read(*slot, buffer, parser, use_nothrow);
  if (ec) sh.error("warmup_" + kind_of(ec));
  if (ec || !parser.get().keep_alive()) slot.reset();  // not up: phase two connects again
}

// Phase two: one connection's requests, one at a time (HTTP/1.1 without pipelining).
asio::awaitable<void> client(int k, beast::tcp_stream stream, bool up, Shared& sh) {
  const auto& spec = sh.spec;
  const bool open_loop = spec.rate > 0;
  // Open loop: this connection's share of the schedule, staggered so the connections do not
  // all send at the same instant.
  const auto interval =
      open_loop
          ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.connections / spec.rate))
          : Clock::duration::zero();
  auto next =
      sh.t0 + (open_loop ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(k / spec.rate))
                         : Clock::duration::zero());
  http::request<http::empty_body> req{http::verb::get, spec.target, 11};
  req.set(http::field::host, spec.server.host);
  req.set(http::field::user_agent, "workbench-load");
  req.keep_alive(true);
  beast::flat_buffer buffer;
  asio::steady_timer timer(stream.get_executor());

  const auto give_up = sh.end + std::chrono::milliseconds(spec.timeout_ms);
  for (;;) {
    const auto scheduled = open_loop ? next : Clock::now();
    if (scheduled >= sh.end) break;
    if (open_loop && Clock::now() >= give_up) {
      // Far behind a schedule the server cannot keep: the requests still due were never sent.
      sh.error("unsent", static_cast<std::uint64_t>((sh.end - scheduled) / interval) + 1);
      break;
    }
    next += interval;
    if (open_loop && scheduled > Clock::now()) {
      timer.expires_at(scheduled);
      co_await timer.async_wait(use_nothrow);
    }
    if (!up) {
      // Lost its connection (the server closed it, a timeout): make a new one, or pause.
      stream.close();
      up = co_await connect(stream, sh);
      if (!up) {
        sh.error("connect");
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(use_nothrow);
        continue;
      }
      buffer.clear();
    }
    const auto sent_at = Clock::now();
    ++sh.sent;
    stream.expires_after(std::chrono::milliseconds(spec.timeout_ms));
    auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    beast::error_code ec = wec;
    if (!ec) std::tie(ec, std::ignore) = co_await http::async_read(stream, buffer, parser, use_nothrow);
    const auto done = Clock::now();
    if (ec) {
      sh.error(kind_of(ec));
      stream.close();
      up = false;
      continue;
    }
    const auto& res = parser.get();
    const auto status = res.result_int();
    if (status >= 200 && status < 300) {
      ++sh.ok;
      sh.latency.record(std::chrono::duration_cast<std::chrono::nanoseconds>(done - scheduled).count());
      if (sh.uncorrected)
        sh.uncorrected->record(std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent_at).count());
    } else {
      sh.error("status_" + std::to_string(status));
    }
    const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(done - sh.t0).count();
    auto seen = sh.last_done_ns.load();
    while (since > seen && !sh.last_done_ns.compare_exchange_weak(seen, since)) {
    }
    if (!res.keep_alive()) {
      stream.close();
      up = false;
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

LoadResult run_load(const LoadSpec& spec, Histogram& latency, Histogram* uncorrected) {
  if (spec.connections < 1) throw std::invalid_argument("run_load: connections must be at least 1");
  raise_fd_limit();
  Shared sh(spec, latency, uncorrected);
  asio::io_context ioc(spec.threads);
  // A coroutine that throws (not an I/O error: those are counted) ends the load with its
  // exception, rethrown here after every thread has stopped.
  std::mutex failed_mutex;
  std::exception_ptr failed;
  auto keep_first = [&](std::exception_ptr e) {
    std::lock_guard lock(failed_mutex);
    if (e && !failed) failed = e;
  };

  // Phase one.  A strand per connection: with several client threads, each connection's
  // handlers still run one at a time.
  std::vector<std::optional<beast::tcp_stream>> streams;
  streams.reserve(static_cast<std::size_t>(spec.connections));
  for (int k = 0; k < spec.connections; ++k) {
    streams.emplace_back(std::in_place, asio::make_strand(ioc));
    asio::co_spawn(streams.back()->get_executor(), open(streams.back(), sh), keep_first);
  }
  ioc.run();
  ioc.restart();
  if (failed) std::rethrow_exception(failed);
  LoadResult result;
  for (const auto& s : streams) result.connected += s.has_value();
  if (result.connected == 0) {
    throw std::runtime_error("no connection to " + spec.server.text() + " could be made");
  }

  // Phase two: the clock starts once every connection is up (or has failed).
  sh.t0 = Clock::now();
  sh.end = sh.t0 + std::chrono::milliseconds(spec.duration_ms);
  for (int k = 0; k < spec.connections; ++k) {
    auto& s = streams[static_cast<std::size_t>(k)];
    const bool up = s.has_value();
    auto ex = up ? s->get_executor() : asio::make_strand(ioc);
    beast::tcp_stream stream = up ? std::move(*s) : beast::tcp_stream(ex);
    asio::co_spawn(ex, client(k, std::move(stream), up, sh), keep_first);
  }
  std::vector<std::thread> helpers;
  for (int i = 1; i < spec.threads; ++i) helpers.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : helpers) t.join();
  if (failed) std::rethrow_exception(failed);

  result.ok = sh.ok;
  result.sent = sh.sent;
  result.errors = sh.errors;
  for (auto it = result.errors.begin(); it != result.errors.end();) {
    it = it->second == 0 ? result.errors.erase(it) : std::next(it);
  }
  result.wall_s = std::max(static_cast<double>(sh.last_done_ns.load()) / 1e9, spec.duration_ms / 1e3);
  return result;
}

}  // namespace wb
