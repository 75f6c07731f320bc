// Chapter 05 — the two servers' entry points, for server_main.cpp.  Each binds, reports its
// port through `listening`, serves until SIGTERM or SIGINT, drains and returns the exit code.
#pragma once

#include <functional>

#include "chapters/05-http-service/service.hpp"

namespace http_service {

using Listening = std::function<void(unsigned short port)>;

int serve_sync(const Config& cfg, State& state, Listening& listening);
int serve_async(const Config& cfg, State& state, Listening& listening);

}  // namespace http_service
