#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "common/digest.hpp"
#include "common/files.hpp"
#include "common/record.hpp"

using nlohmann::json;

TEST_CASE("a trial record survives a JSON round trip unchanged", "[record]") {
  wb::TrialRecord r;
  r.chapter = "file-reads";
  r.variant = "async";
  r.params = {{"files", 64}, {"cache", "cold"}};
  r.repetition = 2;
  r.status = "failed";
  r.reason = "cannot open x";
  r.metrics.wall_s = 1.25;
  r.metrics.ops = 64;
  r.metrics.throughput_ops_s = 51.2;
  r.metrics.latency = {64, 10.5, 9.0, 12.0, 20.0, 25.0, 30.0, 1.5, {{9000, 9031, 40}, {12000, 12031, 24}}};
  r.metrics.resources.cpu_user_s = 0.5;
  r.metrics.resources.cpu_sys_s = 0.25;
  r.metrics.resources.peak_rss_kib = 4096;
  r.metrics.resources.start_rss_kib = 4000;
  r.metrics.resources.peak_threads = 17;
  r.metrics.resources.start_threads = 1;
  r.metrics.resources.ctx_voluntary = 3;
  r.metrics.resources.ctx_involuntary = 4;
  r.metrics.resources.hwm_reset = true;
  r.metrics.resources.harness_cpu_s = 0.003;
  r.counters = {{"bytes_read", 1024.0}};
  r.info = {{"backend", "io_uring"}};
  r.result_digest = "0123456789abcdef";

  const json j = r;
  wb::TrialRecord back;
  from_json(json::parse(j.dump()), back);
  CHECK(json(back) == j);
  CHECK(back.metrics.latency.p999_us == 25.0);
  CHECK(back.metrics.resources.peak_threads == 17);
  CHECK(back.metrics.resources.harness_cpu_s == 0.003);
  CHECK(back.reason == "cannot open x");
}

TEST_CASE("a results file of another schema major version is refused with a clear message", "[record]") {
  wb::TempDir dir("wb-test");
  const auto path = dir.file("r.json");
  std::ofstream(path) << R"({"schema": "workbench.results/2", "context": {}, "trials": []})";
  REQUIRE_THROWS_WITH(wb::read_results(path),
                      Catch::Contains("workbench.results/2") && Catch::Contains("reads workbench.results/1"));
  std::ofstream(path, std::ios::trunc) << R"({"trials": []})";
  REQUIRE_THROWS_WITH(wb::read_results(path), Catch::Contains("not a workbench results file"));
  std::ofstream(path, std::ios::trunc) << "{ not json";
  REQUIRE_THROWS_WITH(wb::read_results(path), Catch::Contains("is not JSON"));
  REQUIRE_THROWS_WITH(wb::read_results(dir.file("missing.json")), Catch::Contains("cannot open"));
  std::ofstream(path, std::ios::trunc) << wb::make_results(wb::make_context(), json::array()).dump();
  CHECK(wb::read_results(path)["schema"] == wb::kResultsSchema);
}

TEST_CASE("an atomic write replaces the whole file and leaves no temporary behind", "[record]") {
  wb::TempDir dir("wb-test");
  const auto path = dir.file("out.json");
  wb::write_file_atomically(path, "first\n");
  wb::write_file_atomically(path, "second, longer\n");
  CHECK(wb::read_text_file(path) == "second, longer\n");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("an atomic write that cannot happen leaves the old file untouched", "[record]") {
  wb::TempDir dir("wb-test");
  const auto path = dir.file("out.json");
  wb::write_file_atomically(path, "old\n");
  // A directory in the way of the rename: the write fails and the old file stays.
  const auto blocked = dir.file("sub");
  std::filesystem::create_directory(blocked);
  std::ofstream(blocked + "/x") << "x";
  CHECK_THROWS(wb::write_file_atomically(blocked, "new\n"));
  CHECK(wb::read_text_file(path) == "old\n");
  CHECK_THROWS(wb::write_file_atomically(dir.file("no/such/dir/out.json"), "x"));
}

TEST_CASE("the context block names the machine and the build", "[record]") {
  const auto c = wb::make_context();
  for (const char* k : {"date", "host", "cpus", "kernel", "compiler", "boost", "build_type", "git"}) {
    INFO(k);
    CHECK(c.contains(k));
  }
  CHECK(c["boost"].get<std::string>().rfind("1.", 0) == 0);
  CHECK(c["cpus"].get<int>() >= 1);
}

TEST_CASE("the digest does not depend on how the input is split", "[digest]") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 31 + 7);
  wb::Digest whole;
  whole.update(data.data(), data.size());
  for (const std::size_t step : {1u, 3u, 7u, 8u, 9u, 64u, 999u}) {
    wb::Digest parts;
    for (std::size_t off = 0; off < data.size(); off += step) {
      parts.update(data.data() + off, std::min(step, data.size() - off));
    }
    INFO("step " << step);
    CHECK(parts.finish() == whole.finish());
  }
  wb::Digest other;
  data[500] ^= 1;
  other.update(data.data(), data.size());
  CHECK(other.finish() != whole.finish());
  CHECK(wb::Digest::hex(0x0123456789abcdefULL) == "0123456789abcdef");
}
