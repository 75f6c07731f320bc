#include "chapters/05-http-service/service.hpp"

#include <charconv>
#include <optional>
#include <string_view>

#include <sys/resource.h>
#include <sys/socket.h>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

namespace http_service {

namespace {

// The value of `key` in a query string, or nullopt.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

// Parses an integer in [lo, hi]; false for anything else ("12x", "-1", overflow).
bool parse_int(std::string_view text, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc{} && r.ptr == text.data() + text.size() && out >= lo && out <= hi;
}

Plan text(unsigned status, std::string body) {
  Plan p;
  p.status = status;
  p.body = std::move(body) + "\n";
  return p;
}

}  // namespace

Plan handle_request(const Request& req, const State& state) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) return text(405, "only GET and HEAD");
  const std::string_view target(req.target().data(), req.target().size());
  const auto q = target.find('?');
  const auto path = target.substr(0, q);
  const auto query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

  if (path == "/healthz") return text(200, "ok");
  if (path == "/stats") {
    // What the server is doing now; in_flight leaves this request out.  Its context switches
    // so far, every thread's (an ended one's too): only the process itself can ask the kernel.
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    Plan p;
    p.type = "application/json";
    p.body = "{\"connections\":" + std::to_string(state.connections.load()) +
             ",\"in_flight\":" + std::to_string(state.in_flight.load() - 1) +
             ",\"requests\":" + std::to_string(state.requests.load()) +
             ",\"rejected\":" + std::to_string(state.rejected.load()) +
             ",\"timeouts\":" + std::to_string(state.timeouts.load()) + ",\"bad\":" + std::to_string(state.bad.load()) +
             ",\"ctx_voluntary\":" + std::to_string(usage.ru_nvcsw) +
             ",\"ctx_involuntary\":" + std::to_string(usage.ru_nivcsw) + "}\n";
    return p;
  }
  if (path == "/readyz") {
    // Ready means "send me traffic": not before start-up is done, not once a stop was asked for
    // (from SIGTERM on: the window before the drain is there for the balancer to see this).
    Plan p;
    p.type = "application/json";
    const char* why = state.unready || state.draining ? "draining" : !state.started ? "starting" : "serving";
    p.status = std::string_view(why) == "serving" ? 200 : 503;
    p.body = std::string("{\"ready\":") + (p.status == 200 ? "true" : "false") + ",\"reason\":\"" + why + "\"}\n";
    return p;
  }
  if (path != "/work") return text(404, "no such path; try /work?delay_ms=10&bytes=64, /healthz, /readyz or /stats");

  Plan p;
  p.type = "application/octet-stream";
  const auto delay = query_value(query, "delay_ms");
  const auto bytes = query_value(query, "bytes");
  if (delay && !parse_int(*delay, 0, 60'000, p.delay_ms)) return text(400, "delay_ms must be 0..60000");
  if (bytes && !parse_int(*bytes, 0, 16 << 20, p.bytes)) return text(400, "bytes must be 0..16777216");
  return p;
}

Response respond(const Request& req, const Plan& plan, const State& state) {
  Response res{static_cast<http::status>(plan.status), req.version()};
  res.set(http::field::server, "workbench-http-service");
  res.set(http::field::content_type, plan.type);
  res.keep_alive(req.keep_alive() && !state.draining);
  res.body() = plan.body.empty() ? std::string(static_cast<std::size_t>(plan.bytes), 'x') : plan.body;
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();  // Content-Length stays: HEAD's rule
  return res;
}

Response error_response(int status, const std::string& why) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "workbench-http-service");
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(false);
  res.body() = why + "\n";
  res.prepare_payload();
  return res;
}

Response parse_error_response(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return error_response(431, ec.message());
  if (ec == http::error::body_limit) return error_response(413, ec.message());
  return error_response(400, ec.message());
}

Response over_limit_response() { return error_response(503, "too many connections; try again later"); }

boost::asio::ip::tcp::acceptor open_acceptor(const boost::asio::any_io_executor& executor, const Config& cfg,
                                             unsigned short port, bool reuse_port) {
  namespace asio = boost::asio;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(cfg.host), port);
  asio::ip::tcp::acceptor acceptor(executor);
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

}  // namespace http_service
