// Chapter 05 — the two servers' entry points, for server_main.cpp.  Each binds, reports its
// port through `listening`, serves until SIGTERM or SIGINT, drains and returns the exit code.
// The configuration and the state are shared with every connection, which may outlive the call
// that started it (a detached thread, a coroutine): they are owned by shared_ptr.
#pragma once

#include <functional>
#include <memory>

#include "chapters/05-http-service/service.hpp"

namespace http_service {

using Listening = std::function<void(unsigned short port)>;

int serve_sync(std::shared_ptr<const Config> cfg, std::shared_ptr<State> state, const Listening& listening);
int serve_async(std::shared_ptr<const Config> cfg, std::shared_ptr<State> state, const Listening& listening);

}  // namespace http_service
