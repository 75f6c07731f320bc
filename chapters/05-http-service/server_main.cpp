// http-server — chapter 05's service, runnable on its own:
//
//   http-server --model sync|async [--host 127.0.0.1] [--port 0] [--threads T] [--shape shared|reuseport]
//               [--max-connections N] [--read-timeout-ms MS] [--idle-timeout-ms MS] [--drain-ms MS]
//               [--startup-ms MS] [--unready-ms MS] [--verbose]
//
// Prints "listening HOST:PORT" once it accepts; SIGTERM or SIGINT drains it (readyz turns 503 at
// once; --unready-ms later it stops accepting, in-flight requests finish, idle keep-alive
// connections close) and it exits 0.
//   curl -i 'http://127.0.0.1:PORT/work?delay_ms=10&bytes=64'
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>

#include "chapters/05-http-service/servers.hpp"
#include "common/options.hpp"
#include "common/os_limits.hpp"
#include "common/resources.hpp"

int main(int argc, char** argv) {
  // The options, declared the way the chapters declare their knobs (common/options.hpp): one
  // line each, with its range or choices, into variables that become the Config.
  std::string model;
  std::string host = "127.0.0.1";
  std::int64_t port = 0;
  std::int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  http_service::Config cfg;  // the defaults below; shared with every connection once it starts
  wb::Options options;
  options.add("--model", model, "sync: a thread per connection; async: a coroutine per connection (required)",
              {"sync", "async"});
  options.add_text("--host", host, "address to bind");
  options.add("--port", port, "port to bind (0: any free one, printed)", 0, 65535, "port");
  options.add("--threads", threads, "async: threads running the event loop(s) (default: the cores)", 1, 256, "threads");
  options.add("--shape", cfg.shape, "async: one io_context for all threads, or one per thread with SO_REUSEPORT",
              {"shared", "reuseport"});
  options.add("--max-connections", cfg.max_connections, "connections at once; more are answered 503 and closed", 1,
              1'000'000, "connections");
  options.add("--read-timeout-ms", cfg.read_timeout_ms, "a request must arrive whole within this", 1, 3'600'000, "ms");
  options.add("--idle-timeout-ms", cfg.idle_timeout_ms,
              "a keep-alive connection may wait this long for its next request", 1, 3'600'000, "ms");
  options.add("--drain-ms", cfg.drain_ms, "after SIGTERM, how long in-flight requests may take", 0, 3'600'000, "ms");
  options.add("--unready-ms", cfg.unready_ms,
              "after SIGTERM, readyz says 503 \"draining\" this long while the service still serves; then it "
              "stops accepting and drains",
              0, 3'600'000, "ms");
  options.add("--startup-ms", cfg.startup_ms, "readyz says 503 \"starting\" this long after listening", 0, 3'600'000,
              "ms");
  CLI::App app{"chapter 05's HTTP service: a thread per connection (sync) or a coroutine per connection (async)",
               "http-server"};
  options.add_to(app);
  app.add_flag("--verbose", cfg.verbose, "say what happens on stderr");
  try {
    app.parse(argc, argv);
    if (model.empty()) throw CLI::RequiredError("--model");
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  cfg.host = host;
  cfg.port = static_cast<unsigned short>(port);
  cfg.threads = static_cast<int>(threads);

  wb::raise_fd_limit();  // 5,000 connections need 5,000 descriptors; the usual soft limit is 1,024
  const auto config = std::make_shared<const http_service::Config>(cfg);
  const auto state = std::make_shared<http_service::State>();
  std::thread warming;
  http_service::Listening listening = [&](unsigned short port) {
    std::printf("listening %s:%u\n", cfg.host.c_str(), static_cast<unsigned>(port));
    std::fflush(stdout);
    if (cfg.startup_ms == 0) {
      state->started = true;
    } else {
      // Start-up work (caches to fill, connections to open) is simulated by a wait.
      warming = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(cfg.startup_ms));
        state->started = true;
      });
    }
  };
  int code = 1;
  try {
    code = model == "sync" ? http_service::serve_sync(config, state, listening)
                           : http_service::serve_async(config, state, listening);
  } catch (const std::exception& e) {
    std::cerr << "http-server: " << e.what() << '\n';  // cannot bind, say
    code = 1;
  }
  if (warming.joinable()) warming.join();
  if (cfg.verbose) {
    std::cerr << "http-server: " << state->requests << " requests, " << state->rejected << " connections turned away, "
              << state->timeouts << " timed out, " << state->bad << " bad requests\n";
  }
  return code;
}
