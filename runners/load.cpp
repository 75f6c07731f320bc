// workbench-load — the chapters' load generator (common/loadgen) on its own, for any HTTP/1.1
// server on this machine or the network:
//
//   workbench-load http://127.0.0.1:8080/work?delay_ms=10 --connections 100 --duration-ms 5000
//   workbench-load http://127.0.0.1:8080/work --connections 50 --rate 2000     # open loop
//
// Closed loop by default (each connection sends when its answer came, like wrk); --rate R
// sends R requests/s on a fixed schedule and measures latency from the scheduled time
// (coordinated omission corrected, like wrk2), printing the uncorrected figures beside it.
// Exit 0 when every request got a 2xx answer, 1 otherwise, 2 for bad usage.
#include <cstdio>
#include <iostream>
#include <regex>

#include <CLI/CLI.hpp>

#include "common/loadgen.hpp"

namespace {

void print_latency(const char* what, const wb::Histogram& h) {
  const auto s = h.summary();
  std::printf("%-22s p50 %9.3f ms   p90 %9.3f ms   p99 %9.3f ms   p99.9 %9.3f ms   max %9.3f ms\n", what,
              s.p50_us / 1e3, s.p90_us / 1e3, s.p99_us / 1e3, s.p999_us / 1e3, s.max_us / 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  wb::LoadSpec spec;
  std::string url;
  CLI::App app{"workbench-load: a coroutine HTTP/1.1 load generator with keep-alive (closed or open loop)",
               "workbench-load"};
  app.add_option("url", url, "http://HOST:PORT/PATH?QUERY (HOST an IPv4 address)")->required();
  app.add_option("-c,--connections", spec.connections, "keep-alive connections")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option("-d,--duration-ms", spec.duration_ms, "how long to send")
      ->check(CLI::Range(1, 86'400'000))
      ->capture_default_str();
  app.add_option("-r,--rate", spec.rate, "requests/s in total on a fixed schedule; 0 = closed loop")
      ->check(CLI::Range(0.0, 1e8))
      ->capture_default_str();
  app.add_option("--timeout-ms", spec.timeout_ms, "per request")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("-t,--threads", spec.threads, "client threads")->check(CLI::Range(1, 256))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  static const std::regex form(R"(http://([0-9.]+):([0-9]+)(/.*)?)");
  std::smatch m;
  if (!std::regex_match(url, m, form)) {
    std::cerr << "workbench-load: expected http://IPV4:PORT/PATH, not \"" << url << "\"\n";
    return 2;
  }
  try {
    spec.server = wb::parse_endpoint(m[1].str() + ":" + m[2].str());
  } catch (const std::invalid_argument& e) {
    std::cerr << "workbench-load: " << e.what() << '\n';
    return 2;
  }
  spec.target = m[3].matched ? m[3].str() : "/";

  wb::Histogram latency, uncorrected;
  wb::LoadResult r;
  try {
    r = wb::run_load(spec, latency, spec.rate > 0 ? &uncorrected : nullptr);
  } catch (const std::exception& e) {
    std::cerr << "workbench-load: " << e.what() << '\n';
    return 1;
  }
  std::printf("%s: %d connections (%d up), %s, %.2f s\n", url.c_str(), spec.connections, r.connected,
              spec.rate > 0
                  ? ("open loop at " + std::to_string(static_cast<long long>(spec.rate)) + " requests/s").c_str()
                  : "closed loop",
              r.wall_s);
  std::printf("%-22s %llu sent, %llu ok, %.1f ok/s\n", "requests", static_cast<unsigned long long>(r.sent),
              static_cast<unsigned long long>(r.ok), static_cast<double>(r.ok) / r.wall_s);
  print_latency(spec.rate > 0 ? "latency (corrected)" : "latency", latency);
  if (spec.rate > 0) print_latency("latency (uncorrected)", uncorrected);
  for (const auto& [kind, n] : r.errors)
    std::printf("%-22s %llu\n", ("errors: " + kind).c_str(), static_cast<unsigned long long>(n));
  return r.error_count() == 0 ? 0 : 1;
}
