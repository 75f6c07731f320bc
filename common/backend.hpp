// The chapters' handle on the loopback backend (common/backend_server.cpp): start one on
// 127.0.0.1 port 0 in a process of its own and learn its port, or use one already running
// (--backend HOST:PORT).  No Asio or Beast here: this header goes into every chapter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "common/work_params.hpp"
#include "common/workload.hpp"

namespace wb {

struct Endpoint {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

// Parses "HOST:PORT"; throws std::invalid_argument with a message.
Endpoint parse_endpoint(const std::string& text);

// Starts a service that prints "listening HOST:PORT" as its first line (workbench-backend,
// chapter 05's http-server) and returns it with where it listens; throws std::runtime_error
// naming `what` when it does not say so within 10 s.
struct StartedService {
  std::unique_ptr<ChildProcess> child;
  Endpoint endpoint;
};
StartedService start_service(const std::vector<std::string>& argv, const std::string& what);

class Backend {
 public:
  // spec empty: start our own backend (threads running its io_context); else "HOST:PORT".
  Backend(const std::string& spec, int threads);
  const Endpoint& endpoint() const { return endpoint_; }
  bool owned() const { return child_ != nullptr; }

 private:
  Endpoint endpoint_;
  std::unique_ptr<ChildProcess> child_;
};

// The Workload of every chapter that calls the backend: the backend (started here, or the one
// --backend names) and, where the chapter draws them beforehand, the calls it will make —
// starting a process and drawing each call's delay are not what a chapter measures.  A
// chapter's Workload derives from it and fills requests_ in its constructor, or leaves it empty
// when its calls are made up as it goes.
class BackendWorkload : public Workload {
 public:
  BackendWorkload(const std::string& spec, int threads) : backend_(spec, threads) {}
  const Endpoint& endpoint() const { return backend_.endpoint(); }
  const std::vector<WorkRequest>& requests() const { return requests_; }
  std::size_t size() const { return requests_.size(); }

 protected:
  std::vector<WorkRequest> requests_;

 private:
  Backend backend_;
};

// Checks an answer against what the backend must send for `request` — a 500 for an id the
// request makes fail, else a 200 with the request's body — and returns the body's digest.
// Throws std::runtime_error naming the call when the answer is wrong, or is that 500.
std::uint64_t check_answer(const WorkRequest& request, unsigned status, const std::string& body);

}  // namespace wb
