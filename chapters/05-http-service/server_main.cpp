// http-server — chapter 05's service, runnable on its own:
//
//   http-server --model sync|async [--host 127.0.0.1] [--port 0] [--threads T] [--shape shared|reuseport]
//               [--max-connections N] [--read-timeout-ms MS] [--idle-timeout-ms MS] [--drain-ms MS]
//               [--startup-ms MS] [--verbose]
//
// Prints "listening HOST:PORT" once it accepts; SIGTERM or SIGINT drains it (readyz turns 503,
// in-flight requests finish, idle keep-alive connections close) and it exits 0.
//   curl -i 'http://127.0.0.1:PORT/work?delay_ms=10&bytes=64'
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>

#include "chapters/05-http-service/servers.hpp"
#include "common/resources.hpp"

int main(int argc, char** argv) {
  http_service::Config cfg;  // shared with every connection once the server starts
  cfg.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string model;
  CLI::App app{"chapter 05's HTTP service: a thread per connection (sync) or a coroutine per connection (async)",
               "http-server"};
  app.add_option("--model", model, "sync: a thread per connection; async: a coroutine per connection")
      ->required()
      ->check(CLI::IsMember({"sync", "async"}));
  app.add_option("--host", cfg.host, "address to bind")->capture_default_str();
  app.add_option("--port", cfg.port, "port to bind (0: any free one, printed)")->capture_default_str();
  app.add_option("--threads", cfg.threads, "async: threads running the event loop(s) (default: the cores)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--shape", cfg.shape, "async: one io_context for all threads, or one per thread with SO_REUSEPORT")
      ->check(CLI::IsMember({"shared", "reuseport"}))
      ->capture_default_str();
  app.add_option("--max-connections", cfg.max_connections, "connections at once; more are answered 503 and closed")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--read-timeout-ms", cfg.read_timeout_ms, "a request must arrive whole within this")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", cfg.idle_timeout_ms, "a keep-alive connection may wait this long for its next request")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("--drain-ms", cfg.drain_ms, "after SIGTERM, how long in-flight requests may take")
      ->check(CLI::Range(0, 3'600'000))
      ->capture_default_str();
  app.add_option("--startup-ms", cfg.startup_ms, "readyz says 503 \"starting\" this long after listening")
      ->check(CLI::Range(0, 3'600'000))
      ->capture_default_str();
  app.add_flag("--verbose", cfg.verbose, "say what happens on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

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
