#include "common/record.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <boost/version.hpp>

#ifndef WB_BUILD_TYPE
#define WB_BUILD_TYPE "unknown"
#endif
#ifndef WB_SOURCE_ROOT
#define WB_SOURCE_ROOT "."
#endif

namespace wb {

using nlohmann::json;

namespace {

// [[low_ns, high_ns, count], ...]: compact, and readable without knowing the bucket scheme.
json histogram_json(const LatencySummary& l) {
  json out = json::array();
  for (const auto& b : l.buckets) out.push_back({b.low_ns, b.high_ns, b.count});
  return out;
}

}  // namespace

void to_json(json& j, const TrialRecord& r) {
  const auto& m = r.metrics;
  const auto& u = m.resources;
  j = json{
      {"chapter", r.chapter},
      {"variant", r.variant},
      {"params", r.params},
      {"repetition", r.repetition},
      {"status", r.status},
      {"metrics",
       {{"wall_s", m.wall_s},
        {"ops", m.ops},
        {"throughput_ops_s", m.throughput_ops_s},
        {"latency_us",
         {{"count", m.latency.count},
          {"mean", m.latency.mean_us},
          {"min", m.latency.min_us},
          {"p50", m.latency.p50_us},
          {"p90", m.latency.p90_us},
          {"p99", m.latency.p99_us},
          {"p999", m.latency.p999_us},
          {"max", m.latency.max_us},
          {"histogram", histogram_json(m.latency)}}},
        {"cpu_user_s", u.cpu_user_s},
        {"cpu_sys_s", u.cpu_sys_s},
        {"peak_rss_kib", u.peak_rss_kib},
        {"start_rss_kib", u.start_rss_kib},
        {"peak_threads", u.peak_threads},
        {"start_threads", u.start_threads},
        {"ctx_voluntary", u.ctx_voluntary},
        {"ctx_involuntary", u.ctx_involuntary},
        {"rss_peak_reset", u.hwm_reset},
        {"harness_cpu_s", u.harness_cpu_s}}},
      {"counters", r.counters},
      {"info", r.info},
      {"result_digest", r.result_digest},
  };
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (!r.series.empty()) j["series"] = r.series;
}

void from_json(const json& j, TrialRecord& r) {
  r = {};
  r.chapter = j.at("chapter").get<std::string>();
  r.variant = j.at("variant").get<std::string>();
  r.params = j.value("params", json::object());
  r.repetition = j.value("repetition", 0);
  r.status = j.at("status").get<std::string>();
  r.reason = j.value("reason", "");
  r.result_digest = j.value("result_digest", "");
  if (j.contains("counters")) r.counters = j.at("counters").get<std::map<std::string, double>>();
  if (j.contains("info")) r.info = j.at("info").get<std::map<std::string, std::string>>();
  if (j.contains("series")) r.series = j.at("series").get<decltype(r.series)>();
  if (!j.contains("metrics")) return;
  const auto& mj = j.at("metrics");
  auto& m = r.metrics;
  auto& u = m.resources;
  m.wall_s = mj.value("wall_s", 0.0);
  m.ops = mj.value("ops", std::uint64_t{0});
  m.throughput_ops_s = mj.value("throughput_ops_s", 0.0);
  if (mj.contains("latency_us")) {
    const auto& l = mj.at("latency_us");
    m.latency.count = l.value("count", std::uint64_t{0});
    m.latency.mean_us = l.value("mean", 0.0);
    m.latency.min_us = l.value("min", 0.0);
    m.latency.p50_us = l.value("p50", 0.0);
    m.latency.p90_us = l.value("p90", 0.0);
    m.latency.p99_us = l.value("p99", 0.0);
    m.latency.p999_us = l.value("p999", 0.0);
    m.latency.max_us = l.value("max", 0.0);
    if (l.contains("histogram") && l["histogram"].is_array()) {
      for (const auto& b : l["histogram"]) {
        if (b.is_array() && b.size() == 3) {
          m.latency.buckets.push_back(
              {b[0].get<std::uint64_t>(), b[1].get<std::uint64_t>(), b[2].get<std::uint64_t>()});
        }
      }
    }
  }
  u.wall_s = m.wall_s;
  u.cpu_user_s = mj.value("cpu_user_s", 0.0);
  u.cpu_sys_s = mj.value("cpu_sys_s", 0.0);
  u.peak_rss_kib = mj.value("peak_rss_kib", std::int64_t{0});
  u.start_rss_kib = mj.value("start_rss_kib", std::int64_t{0});
  u.peak_threads = mj.value("peak_threads", std::int64_t{0});
  u.start_threads = mj.value("start_threads", std::int64_t{0});
  u.ctx_voluntary = mj.value("ctx_voluntary", std::int64_t{0});
  u.ctx_involuntary = mj.value("ctx_involuntary", std::int64_t{0});
  u.hwm_reset = mj.value("rss_peak_reset", false);
  u.harness_cpu_s = mj.value("harness_cpu_s", 0.0);
}

namespace {

std::string run_and_read(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

json make_context() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  utsname un{};
  ::uname(&un);
  const std::string src = WB_SOURCE_ROOT;
  std::string git = run_and_read("git -C '" + src + "' rev-parse --short=12 HEAD 2>/dev/null");
  if (git.empty()) {
    git = "unknown";
  } else if (!run_and_read("git -C '" + src + "' status --porcelain --untracked-files=no 2>/dev/null").empty()) {
    git += "-dirty";
  }
  return json{
      {"date", date},
      {"host", un.nodename},
      {"cpus", std::thread::hardware_concurrency()},
      {"kernel", std::string(un.sysname) + " " + un.release},
      {"machine", un.machine},
      {"compiler", compiler()},
      {"boost", std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000)},
      {"build_type", WB_BUILD_TYPE},
      {"git", git},
  };
}

json make_results(const json& context, const json& trials, const json& chapters) {
  json doc{{"schema", kResultsSchema}, {"context", context}, {"trials", trials}};
  if (chapters.is_object() && !chapters.empty()) doc["chapters"] = chapters;
  return doc;
}

json read_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open results file " + path);
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(path + " is not JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("schema") || !doc["schema"].is_string()) {
    throw std::runtime_error(path + " is not a workbench results file (no \"schema\" field)");
  }
  const auto schema = doc["schema"].get<std::string>();
  const std::string prefix = "workbench.results/";
  if (schema.rfind(prefix, 0) != 0) {
    throw std::runtime_error(path + " has schema \"" + schema + "\", not " + prefix + "N");
  }
  int major = -1;
  try {
    major = std::stoi(schema.substr(prefix.size()));
  } catch (const std::exception&) {
  }
  if (major != kResultsSchemaMajor) {
    throw std::runtime_error(path + " has schema \"" + schema + "\"; this workbench reads " + kResultsSchema +
                             " (major version " + std::to_string(kResultsSchemaMajor) + ") only");
  }
  // The shape every reader relies on: a list of trials, each an object that says what ran.
  if (!doc.contains("trials") || !doc["trials"].is_array())
    throw std::runtime_error(path + " is not a workbench results file: \"trials\" is missing or not a list");
  std::size_t i = 0;
  for (const auto& t : doc["trials"]) {
    const bool shaped = t.is_object() && t.contains("chapter") && t["chapter"].is_string() && t.contains("variant") &&
                        t["variant"].is_string() && t.contains("status") && t["status"].is_string() &&
                        (!t.contains("params") || t["params"].is_object()) &&
                        (!t.contains("metrics") || t["metrics"].is_object()) &&
                        (!t.contains("counters") || t["counters"].is_object());
    if (!shaped)
      throw std::runtime_error(path + ": trial " + std::to_string(i) +
                               " is not a trial record (it needs chapter, variant and status; params, metrics and "
                               "counters are objects)");
    ++i;
  }
  if (doc.contains("context") && !doc["context"].is_object())
    throw std::runtime_error(path + ": \"context\" is not an object");
  return doc;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create a temporary file beside " + path);
  auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw std::system_error(e, std::generic_category(), std::string(what) + " " + tmpl);
  };
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) fail("cannot chmod");
  if (::fsync(fd) != 0) fail("cannot fsync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    throw std::system_error(e, std::generic_category(), "cannot close " + tmpl);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    throw std::system_error(e, std::generic_category(), "cannot rename " + tmpl + " to " + path);
  }
  // The rename itself is durable only once the directory is synced.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace wb
