// Chapter 05 — how the coroutine server spreads its connections over T threads (--shape), a
// lesson of its own, kept out of async.cpp (skip it on a first read):
//   shared     one io_context run by T threads: any thread may resume any connection, so load
//              spreads, at the price of a lock inside the io_context and a strand per connection;
//   reuseport  one io_context per thread, each with its own acceptor on the same port
//              (SO_REUSEPORT): the kernel spreads connections, nothing is shared — but a
//              connection stays on its thread however busy that thread gets.
// Asio does no work stealing (Tokio does, §12): a thread whose connections are busy is not
// helped by an idle one in either shape.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "chapters/05-http-service/service.hpp"

namespace http_service {

class EventLoops {
 public:
  // Binds cfg.host:cfg.port (port 0: the kernel's choice, which every acceptor then shares).
  explicit EventLoops(const Config& cfg);
  // The io_context of the first loop (signals are taken there).
  boost::asio::io_context& first() { return *contexts_.front(); }
  // One acceptor per io_context, each on a strand of its own.
  std::vector<boost::asio::ip::tcp::acceptor>& acceptors() { return acceptors_; }
  unsigned short port() const { return acceptors_.front().local_endpoint().port(); }
  // Runs the loops on T threads (this one among them); returns when every loop has run out of
  // work.
  void run();

 private:
  int threads_ = 1;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::ip::tcp::acceptor> acceptors_;
};

}  // namespace http_service
