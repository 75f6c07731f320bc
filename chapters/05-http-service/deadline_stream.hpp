// Chapter 05 — DeadlineStream: the blocking server's beast::tcp_stream.  A blocking Asio read
// waits for ever (it ignores SO_RCVTIMEO), so before every read and write this stream poll()s
// its socket with the time left, and fails with beast::error::timeout when the deadline passes
// first: the same deadlines, set the same way (expires_after), that the coroutine server gets
// from beast::tcp_stream.  Beast's http::read and http::write run on it unchanged
// (SyncReadStream, SyncWriteStream).
#pragma once

#include <algorithm>
#include <cerrno>
#include <climits>
#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <poll.h>

namespace http_service {

class DeadlineStream {
 public:
  using Clock = std::chrono::steady_clock;
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  explicit DeadlineStream(socket_type& socket) : socket_(socket) {}
  executor_type get_executor() { return socket_.get_executor(); }
  socket_type& socket() { return socket_; }

  // The next reads and writes must be done within `timeout` from now.
  void expires_after(Clock::duration timeout) { deadline_ = Clock::now() + timeout; }

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, boost::beast::error_code& ec) {
    if (!wait_for(POLLIN, ec)) return 0;
    return socket_.read_some(buffers, ec);  // readable (or an error poll saw): this does not block
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    boost::beast::error_code ec;
    const auto n = read_some(buffers, ec);
    if (ec) throw boost::beast::system_error(ec);
    return n;
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers, boost::beast::error_code& ec) {
    if (!wait_for(POLLOUT, ec)) return 0;
    return socket_.write_some(buffers, ec);  // room in the send buffer: this writes at least a byte
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers) {
    boost::beast::error_code ec;
    const auto n = write_some(buffers, ec);
    if (ec) throw boost::beast::system_error(ec);
    return n;
  }

 private:
  // Waits until the socket is ready for `events` or the deadline passes (ec = timeout).
  bool wait_for(short events, boost::beast::error_code& ec) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      pollfd ready{socket_.native_handle(), events, 0};
      const int n = left <= 0 ? 0 : ::poll(&ready, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        ec = boost::beast::error::timeout;
        return false;
      }
      return true;
    }
  }

  socket_type& socket_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

}  // namespace http_service
