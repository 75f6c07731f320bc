#include "common/backend_call.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/backend.hpp"
#include "common/deadline_stream.hpp"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace wb {

namespace {
http::request<http::empty_body> make_request(const tcp::endpoint& endpoint, const wb::WorkRequest& request) {
  http::request<http::empty_body> req{http::verb::get, request.target(), 11};
  req.set(http::field::host, endpoint.address().to_string());
  req.keep_alive(false);
  return req;
}
}  // namespace

void call_backend_blocking(asio::io_context& io, const tcp::endpoint& endpoint, const wb::WorkRequest& request,
                           std::optional<std::chrono::steady_clock::time_point> deadline) {
  tcp::socket socket(io);
  socket.connect(endpoint);  // loopback: at once, or refused at once
  wb::DeadlineStream stream(socket);
  stream.expires_at(deadline.value_or(std::chrono::steady_clock::time_point::max()));
  const auto req = make_request(endpoint, request);
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);  // parks this thread until the answer, or the deadline
  wb::check_answer(request, res.result_int(), res.body());
}

asio::awaitable<void> call_backend(tcp::endpoint endpoint, wb::WorkRequest request) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  // Named, not a temporary inside the co_await: g++ 12 destroys such temporaries twice.
  const auto req = make_request(endpoint, request);
  co_await http::async_write(socket, req, asio::use_awaitable);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  co_await http::async_read(socket, buffer, res, asio::use_awaitable);
  wb::check_answer(request, res.result_int(), res.body());
}

}  // namespace wb
