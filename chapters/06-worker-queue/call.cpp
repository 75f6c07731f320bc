#include "chapters/06-worker-queue/call.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/backend.hpp"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace worker_queue {

namespace {
http::request<http::empty_body> make_request(const tcp::endpoint& endpoint, const wb::WorkRequest& request) {
  http::request<http::empty_body> req{http::verb::get, request.target(), 11};
  req.set(http::field::host, endpoint.address().to_string());
  req.keep_alive(false);
  return req;
}
}  // namespace

void call_blocking(asio::io_context& io, const tcp::endpoint& endpoint, const wb::WorkRequest& request) {
  tcp::socket socket(io);
  socket.connect(endpoint);
  const auto req = make_request(endpoint, request);
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  wb::check_answer(request, res.result_int(), res.body());
}

asio::awaitable<void> call(tcp::endpoint endpoint, wb::WorkRequest request) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  const auto req = make_request(endpoint, request);  // named: see async.cpp on temporaries in co_await
  co_await http::async_write(socket, req, asio::use_awaitable);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  co_await http::async_read(socket, buffer, res, asio::use_awaitable);
  wb::check_answer(request, res.result_int(), res.body());
}

}  // namespace worker_queue
