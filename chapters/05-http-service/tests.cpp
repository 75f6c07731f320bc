// Chapter 05: both HTTP servers, checked as a client sees them — curl, wrk and raw sockets
// sending what a broken or hostile client sends — and the chapter's own measured run.
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/backend.hpp"
#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string server_exe() { return test::exe_from_env("WB_HTTP_SERVER"); }
std::string chapter_exe() { return test::exe_from_env("WB_HTTP_SERVICE"); }

// A server under test on 127.0.0.1, port 0; stopped (SIGTERM) by the destructor.
struct Server {
  std::unique_ptr<wb::ChildProcess> child;
  wb::Endpoint at;
  Server(const std::string& model, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {server_exe(), "--model", model, "--port", "0", "--threads", "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto started = wb::start_service(argv, "http-server --model " + model);
    child = std::move(started.child);
    at = started.endpoint;
  }
  std::string url(const std::string& target) const { return "http://" + at.text() + target; }
};

// A raw TCP client: what curl will not send.
struct Raw {
  int fd = -1;
  explicit Raw(const wb::Endpoint& e) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(e.port);
    ::inet_pton(AF_INET, e.host.c_str(), &a.sin_addr);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Raw() { ::close(fd); }
  bool send(const std::string& s) {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Everything until the peer closes, or nullopt if it is still open after `limit`.
  std::optional<std::string> read_to_close(std::chrono::milliseconds limit) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto n = recv_before(until, out);
      if (n < 0) return std::nullopt;
      if (n == 0) return out;  // closed (or reset)
    }
  }
  // Reads until `marker` has arrived (a whole response's end), or nullopt after `limit`.
  std::optional<std::string> read_until(const std::string& marker, std::chrono::milliseconds limit) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + limit;
    while (out.find(marker) == std::string::npos) {
      if (recv_before(until, out) <= 0) return std::nullopt;
    }
    return out;
  }

 private:
  // One recv() appended to `out`, if data comes before `until`: the bytes read, 0 when the peer
  // closed (or reset), -1 at the deadline.
  long recv_before(std::chrono::steady_clock::time_point until, std::string& out) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) return -1;
    char buf[4096];
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return 0;
    out.append(buf, static_cast<std::size_t>(n));
    return n;
  }
};

const std::vector<std::string> kModels = {"sync", "async"};

// A tool from PATH (the process helper execs a path, not a name).
std::string tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const auto candidate = dirs.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  FAIL(name + " is not installed (scripts/setup installs it)");
  return name;
}

test::Ran curl(std::vector<std::string> args) {
  args.insert(args.begin(), {tool("curl"), "--silent", "--show-error", "--max-time", "10"});
  return test::run(args);
}

}  // namespace

TEST_CASE("curl: both servers answer /work, /healthz and /readyz, and keep the connection alive",
          "[http-service][clients]") {
  for (const auto& model : kModels) {
    Server s(model);
    INFO(model);
    // Two URLs in one curl: the second reuses the first's connection (num_connects 0).
    const auto r = curl({"--write-out", "|%{http_code} %{num_connects}\\n", s.url("/work?delay_ms=1&bytes=7"),
                         s.url("/healthz"), s.url("/readyz")});
    REQUIRE(r.code() == 0);
    CHECK(r.out == "xxxxxxx|200 1\nok\n|200 0\n{\"ready\":true,\"reason\":\"serving\"}\n|200 0\n");
    const auto statuses = curl({"--write-out", "%{http_code} ", "-o", "/dev/null", s.url("/nope"), "-o", "/dev/null",
                                s.url("/work?delay_ms=x"), "-o", "/dev/null", s.url("/work?bytes=99999999")});
    CHECK(statuses.out == "404 400 400 ");
    const auto head = curl({"--head", s.url("/work?bytes=3")});
    CHECK_THAT(head.out, Catch::Contains("Content-Length: 3"));
    const auto post = curl({"--output", "/dev/null", "--write-out", "%{http_code}", "--data", "x=1", s.url("/work")});
    CHECK(post.out == "405");
  }
}

TEST_CASE("readyz says 503 starting until start-up is done, healthz 200 all along", "[http-service][clients]") {
  for (const auto& model : kModels) {
    Server s(model, {"--startup-ms", "800"});
    INFO(model);
    const auto early = curl({"--write-out", "|%{http_code}", s.url("/readyz")});
    CHECK(early.out == "{\"ready\":false,\"reason\":\"starting\"}\n|503");
    CHECK(curl({"--output", "/dev/null", "--write-out", "%{http_code}", s.url("/healthz")}).out == "200");
    // Ready within a bounded time: ask until it says so (curl --retry does not retry a 503 body).
    std::string last;
    for (int i = 0; i < 100 && last != "200"; ++i) {
      last = curl({"--output", "/dev/null", "--write-out", "%{http_code}", s.url("/readyz")}).out;
      if (last != "200") std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
    }
    CHECK(last == "200");
  }
}

TEST_CASE("SIGTERM drains: an in-flight request finishes, idle keep-alive connections close, exit 0",
          "[http-service][clients]") {
  for (const auto& model : kModels) {
    Server s(model, {"--drain-ms", "5000"});
    INFO(model);
    Raw idle(s.at);
    REQUIRE(idle.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(idle.read_until("ok\n", std::chrono::seconds(5)));  // now idle, kept alive
    Raw busy(s.at);
    REQUIRE(busy.send("GET /work?delay_ms=700&bytes=4 HTTP/1.1\r\nHost: t\r\n\r\n"));
    // Wait until the server holds the slow request (its /stats says so), then SIGTERM.
    bool holding = false;
    for (int i = 0; i < 200 && !holding; ++i) {
      holding = curl({s.url("/stats")}).out.find("\"in_flight\":1,") != std::string::npos;
    }
    REQUIRE(holding);
    ::kill(s.child->pid(), SIGTERM);
    const auto idle_end = idle.read_to_close(std::chrono::seconds(3));
    CHECK(idle_end);  // closed by the drain, long before its idle timeout
    const auto answer = busy.read_to_close(std::chrono::seconds(5));
    REQUIRE(answer);
    CHECK_THAT(*answer, Catch::StartsWith("HTTP/1.1 200 OK"));
    CHECK_THAT(*answer, Catch::Contains("Connection: close"));
    CHECK_THAT(*answer, Catch::EndsWith("xxxx"));
    CHECK(s.child->stop(std::chrono::seconds(10)) == 0);
  }
}

TEST_CASE("after SIGTERM, --unready-ms of alive-not-ready: readyz 503 draining, still serving; then it drains",
          "[http-service][clients]") {
  for (const auto& model : kModels) {
    // A window far longer than any probe takes, even in a sanitizer build inside a CPU quota:
    // what is asserted is what the service says inside it, not how fast it says it.
    Server s(model, {"--unready-ms", "3000"});
    INFO(model);
    REQUIRE(curl({"--output", "/dev/null", "--write-out", "%{http_code}", s.url("/readyz")}).out == "200");
    ::kill(s.child->pid(), SIGTERM);
    // Ready until the signal is handled, then not: ask until it says so (polling a condition).
    std::string ready;
    for (int i = 0; i < 100 && ready.find("draining") == std::string::npos; ++i) {
      ready = curl({"--write-out", "|%{http_code}", s.url("/readyz")}).out;
      if (ready.find("draining") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(ready == "{\"ready\":false,\"reason\":\"draining\"}\n|503");
    // Alive, and still serving new connections: the balancer has not stopped sending yet.
    CHECK(curl({"--output", "/dev/null", "--write-out", "%{http_code}", s.url("/healthz")}).out == "200");
    CHECK(curl({"--write-out", "|%{http_code}", s.url("/work?delay_ms=0&bytes=3")}).out == "xxx|200");
    // Then the drain: the service stops accepting and exits 0.
    CHECK(s.child->stop(std::chrono::seconds(15)) == 0);
  }
}

TEST_CASE("over --max-connections a connection is answered 503 and closed", "[http-service][clients]") {
  for (const auto& model : kModels) {
    Server s(model, {"--max-connections", "2"});
    INFO(model);
    Raw a(s.at), b(s.at);
    REQUIRE(a.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(b.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(a.read_until("ok\n", std::chrono::seconds(5)));
    REQUIRE(b.read_until("ok\n", std::chrono::seconds(5)));
    Raw c(s.at);
    const auto refused = c.read_to_close(std::chrono::seconds(5));
    REQUIRE(refused);
    CHECK_THAT(*refused, Catch::StartsWith("HTTP/1.1 503"));
    // Once one leaves, a new connection is served again.
    ::shutdown(a.fd, SHUT_RDWR);
    std::string status;
    for (int i = 0; i < 100 && status != "200"; ++i) {
      status = curl({"--output", "/dev/null", "--write-out", "%{http_code}", s.url("/healthz")}).out;
      if (status != "200") std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the server notices the close
    }
    CHECK(status == "200");
  }
}

TEST_CASE("a slowloris client loses its connection at the read timeout, an idle one at the idle timeout",
          "[http-service][clients]") {
  for (const auto& model : kModels) {
    Server s(model, {"--read-timeout-ms", "300", "--idle-timeout-ms", "300"});
    INFO(model);
    Raw slow(s.at);
    REQUIRE(slow.send("GET /work HTTP/1.1\r\nHost: t\r\n"));  // and never the blank line
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(slow.read_to_close(std::chrono::seconds(5)));
    Raw silent(s.at);
    CHECK(silent.read_to_close(std::chrono::seconds(5)));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4));
    // The server is still there for everyone else.
    CHECK(curl({"--output", "/dev/null", "--write-out", "%{http_code}", s.url("/healthz")}).out == "200");
  }
}

TEST_CASE("bad input gets the right 4xx or a closed connection, never a crash", "[http-service][clients]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
      {"GET / HTTP/9.9\r\nHost: t\r\n\r\n", "HTTP/1.1 400"},
      {"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n", "HTTP/1.1 431"},
      {"POST /work HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'b'), "HTTP/1.1 413"},
      {std::string("\x00\x01\x02\xff\xfe binary \r\n\r\n", 18), "HTTP/1.1 400"},
  };
  for (const auto& model : kModels) {
    Server s(model);
    for (const auto& [request, expect] : cases) {
      INFO(model << ": " << request.substr(0, 40));
      Raw c(s.at);
      c.send(request);  // may fail part-way for the big ones once the server answered and closed
      const auto answer = c.read_to_close(std::chrono::seconds(5));
      REQUIRE(answer);
      CHECK_THAT(*answer, Catch::StartsWith(expect));
    }
    // Half-closed: the request, then our write side shut: the answer still comes, then EOF.
    Raw half(s.at);
    REQUIRE(half.send("GET /work?bytes=2 HTTP/1.1\r\nHost: t\r\n\r\n"));
    ::shutdown(half.fd, SHUT_WR);
    const auto answer = half.read_to_close(std::chrono::seconds(5));
    REQUIRE(answer);
    CHECK_THAT(*answer, Catch::StartsWith("HTTP/1.1 200") && Catch::EndsWith("xx"));
    // An endless header (1 MiB, no end) is cut at the header limit: memory stays bounded.
    Raw endless(s.at);
    endless.send("GET / HTTP/1.1\r\nX: ");
    bool closed = false;
    for (int i = 0; i < 256 && !closed; ++i) closed = !endless.send(std::string(4096, 'z'));
    const auto cut = endless.read_to_close(std::chrono::seconds(5));
    CHECK((closed || (cut && cut->rfind("HTTP/1.1 431", 0) == 0)));
    INFO(model);
    CHECK(curl({"--output", "/dev/null", "--write-out", "%{http_code}", s.url("/healthz")}).out == "200");
  }
}

TEST_CASE("wrk gets the same answers: no socket errors and no non-2xx responses", "[http-service][clients]") {
  for (const auto& model : kModels) {
    Server s(model);
    INFO(model);
    const auto r = test::run({tool("wrk"), "-t1", "-c20", "-d2s", "--latency", s.url("/work?delay_ms=1&bytes=64")}, 60);
    INFO(r.out << r.err);
    REQUIRE(r.code() == 0);
    CHECK_THAT(r.out, Catch::Contains("requests in"));
    CHECK_THAT(r.out, !Catch::Contains("Socket errors"));
    CHECK_THAT(r.out, !Catch::Contains("Non-2xx"));
  }
}

TEST_CASE("the chapter measures the server, not the client: a thread per connection against a few", "[http-service]") {
  const auto r = test::run({chapter_exe(), "--connections", "60", "--duration-ms", "400", "--delay-ms", "2",
                            "--server-threads", "2", "--json", "-"});
  INFO(r.err);
  REQUIRE(r.code() == 0);
  const auto recs = test::json_lines(r.out);
  REQUIRE(recs.size() == 2);
  for (const auto& rec : recs) {
    INFO(rec.dump());
    CHECK(rec["status"] == "ok");
    CHECK(rec["counters"]["errors"] == 0);
    CHECK(rec["counters"]["connected"] == 60);
    CHECK(rec["metrics"]["ops"].get<double>() > 60);
  }
  CHECK(recs[0]["result_digest"] == recs[1]["result_digest"]);
  CHECK(recs[0]["metrics"]["peak_threads"].get<int>() >= 60);  // sync: one per connection
  CHECK(recs[1]["metrics"]["peak_threads"].get<int>() <= 4);   // async: --server-threads 2 (+ slack)
}

TEST_CASE("open loop measures latency from the schedule and keeps the uncorrected figure", "[http-service]") {
  const auto r = test::run({chapter_exe(), "--mode", "async", "--connections", "4", "--rate", "400", "--duration-ms",
                            "500", "--delay-ms", "1", "--json", "-"});
  INFO(r.err);
  REQUIRE(r.code() == 0);
  const auto rec = test::json_lines(r.out).at(0);
  INFO(rec.dump());
  CHECK(rec["status"] == "ok");
  CHECK(rec["metrics"]["ops"].get<double>() == Approx(200).margin(30));  // 400/s for 0.5 s
  const double corrected = rec["metrics"]["latency_us"]["p99"].get<double>() / 1e3;
  CHECK(rec["counters"].contains("uncorrected_p99_ms"));
  CHECK(corrected >= rec["counters"]["uncorrected_p99_ms"].get<double>() * 0.99);  // from the schedule: never less
}

TEST_CASE("http-service refuses bad knobs naming the option", "[http-service]") {
  test::expect_usage_errors(
      chapter_exe(),
      {{{"--connections", "0"}, "--connections"}, {{"--shape", "diagonal"}, "--shape"}, {{"--rate", "-1"}, "--rate"}});
  const auto r = test::run({server_exe(), "--model", "threads"});
  CHECK(r.code() == 2);
}
