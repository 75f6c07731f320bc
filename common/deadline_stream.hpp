// DeadlineStream: a blocking socket with beast::tcp_stream's deadlines.  A blocking Asio read
// waits for ever (it ignores SO_RCVTIMEO), so before every read and write this stream poll()s
// its socket with the time left, and fails with beast::error::timeout when the deadline passes
// first: the same deadlines, set the same way (expires_after / expires_at), that coroutine code
// gets from beast::tcp_stream.  Beast's http::read and http::write run on it unchanged
// (SyncReadStream, SyncWriteStream).  The deadline is honoured because the code doing the I/O
// was written to honour it: another thread still cannot cancel the call.  Brings Asio: include
// it from blocking variants only.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>

#include <poll.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

namespace wb {

class DeadlineStream {
 public:
  using Clock = std::chrono::steady_clock;
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  explicit DeadlineStream(socket_type& socket) : socket_(socket) {}
  executor_type get_executor() { return socket_.get_executor(); }
  socket_type& socket() { return socket_; }

  // The next reads and writes must be done within `timeout` from now, or by `deadline`.
  void expires_after(Clock::duration timeout) { deadline_ = Clock::now() + timeout; }
  void expires_at(Clock::time_point deadline) { deadline_ = deadline; }

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
  // Waits until the socket is ready for `events` or the deadline passes (ec = timeout) — never
  // before it: poll()'s milliseconds are rounded up, and an early wake-up waits again.
  bool wait_for(short events, boost::beast::error_code& ec) {
    for (;;) {
      const auto now = Clock::now();
      if (now >= deadline_) {
        ec = boost::beast::error::timeout;
        return false;
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now).count();
      pollfd ready{socket_.native_handle(), events, 0};
      const int n = ::poll(&ready, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
      if (n > 0 || (n < 0 && errno != EINTR)) return true;  // ready, or an error the read will report
    }
  }

  socket_type& socket_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

}  // namespace wb
