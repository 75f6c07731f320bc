#include "chapters/05-http-service/event_loops.hpp"

#include <algorithm>
#include <thread>

#include <boost/asio/strand.hpp>

namespace http_service {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

EventLoops::EventLoops(const Config& cfg) : threads_(std::max(1, cfg.threads)) {
  const bool per_thread = cfg.shape == "reuseport";
  // shared: one io_context, told how many threads will run it; reuseport: one per thread, each
  // run by one thread (the concurrency hint 1 lets Asio drop its internal locking).
  for (int i = 0; i < (per_thread ? threads_ : 1); ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(per_thread ? 1 : threads_));
  }
  // Each acceptor on a strand: the drain closes it from another coroutine, maybe on another thread.
  acceptors_.push_back(open_acceptor(asio::make_strand(*contexts_[0]), cfg, cfg.port, per_thread));
  const auto port = acceptors_[0].local_endpoint().port();  // port 0: the others bind the port the kernel chose
  for (std::size_t i = 1; i < contexts_.size(); ++i)
    acceptors_.push_back(open_acceptor(asio::make_strand(*contexts_[i]), cfg, port, true));
}

void EventLoops::run() {
  std::vector<std::thread> runners;
  for (int i = 1; i < threads_; ++i) {
    auto& ioc = *contexts_[contexts_.size() > 1 ? static_cast<std::size_t>(i) : 0];
    runners.emplace_back([&ioc] { ioc.run(); });
  }
  contexts_[0]->run();
  for (auto& t : runners) t.join();
}

}  // namespace http_service
