#include "common/backend.hpp"

#include <stdexcept>

#include "common/digest.hpp"

#ifndef WB_BACKEND_EXE
#define WB_BACKEND_EXE "workbench-backend"
#endif

namespace wb {

Endpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::invalid_argument("expected HOST:PORT, not \"" + text + "\"");
  }
  Endpoint e;
  e.host = text.substr(0, colon);
  try {
    std::size_t used = 0;
    const int port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port < 1 || port > 65535) throw std::out_of_range("port");
    e.port = static_cast<unsigned short>(port);
  } catch (const std::exception&) {
    throw std::invalid_argument("the port in \"" + text + "\" must be 1..65535");
  }
  return e;
}

StartedService start_service(const std::vector<std::string>& argv, const std::string& what) {
  StartedService s;
  s.child = std::make_unique<ChildProcess>(argv);
  const auto line = s.child->read_line(std::chrono::seconds(10));
  const std::string prefix = "listening ";
  if (!line || line->rfind(prefix, 0) != 0) {
    throw std::runtime_error(what + " (" + argv.front() + ") did not say where it listens" +
                             (line ? ": \"" + *line + "\"" : ""));
  }
  s.endpoint = parse_endpoint(line->substr(prefix.size()));
  return s;
}

Backend::Backend(const std::string& spec, int threads) {
  if (!spec.empty()) {
    endpoint_ = parse_endpoint(spec);
    return;
  }
  auto started = start_service(
      {WB_BACKEND_EXE, "--host", "127.0.0.1", "--port", "0", "--threads", std::to_string(threads)}, "the backend");
  child_ = std::move(started.child);
  endpoint_ = started.endpoint;
}

std::uint64_t check_answer(const WorkRequest& request, unsigned status, const std::string& body) {
  const unsigned expected = request.fails() ? 500 : 200;
  const std::string call = "call " + std::to_string(request.id) + ": ";
  if (status != expected) {
    throw std::runtime_error(call + "HTTP " + std::to_string(status) + ", expected " + std::to_string(expected));
  }
  if (status == 500) throw std::runtime_error(call + "HTTP 500 from the backend");
  if (body != request.body()) throw std::runtime_error(call + "wrong body");
  Digest d;
  d.update(body.data(), body.size());
  return d.finish();
}

}  // namespace wb
