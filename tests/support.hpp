// Helpers for tests that run the project's executables as a user would.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/process.hpp"

namespace test {

// Path of an executable the build passes in through the environment (see tests/meson.build).
inline std::string exe_from_env(const char* var) {
  const char* v = std::getenv(var);
  if (!v || !*v) FAIL(std::string("environment variable ") + var + " is not set (run through meson test)");
  return v;
}

struct Ran {
  wb::ProcessResult result;
  std::string out;
  std::string err;
  int code() const { return result.exit_code; }
};

inline Ran run(std::vector<std::string> argv, int timeout_s = 120) {
  wb::TempDir tmp("wb-test-run");
  wb::ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.stdout_path = tmp.file("out");
  spec.stderr_path = tmp.file("err");
  spec.timeout = std::chrono::seconds(timeout_s);
  Ran r;
  r.result = wb::run_process(spec);
  r.out = wb::read_text_file(tmp.file("out"));
  r.err = wb::read_text_file(tmp.file("err"));
  INFO("stderr: " << r.err);
  REQUIRE(r.result.started);
  REQUIRE_FALSE(r.result.timed_out);
  return r;
}

// The JSON lines a chapter wrote with --json.
inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) out.push_back(nlohmann::json::parse(text.substr(start, nl - start)));
    start = nl + 1;
  }
  return out;
}

// Runs a chapter with `args` and --json -, which must exit 0 with `records` records (one per
// variant), each of status ok; returns them.
inline std::vector<nlohmann::json> run_records(const std::string& exe, std::vector<std::string> args,
                                               std::size_t records = 2) {
  args.insert(args.begin(), {exe, "--json", "-"});
  const auto r = run(args);
  INFO(r.err);
  REQUIRE(r.code() == 0);
  auto recs = json_lines(r.out);
  REQUIRE(recs.size() == records);
  for (const auto& rec : recs) REQUIRE(rec["status"] == "ok");
  return recs;
}

// Each case: arguments that must be refused with exit 2 and a message naming `option`.
using UsageCases = std::vector<std::pair<std::vector<std::string>, std::string>>;
inline void expect_usage_errors(const std::string& exe, const UsageCases& cases) {
  for (const auto& [args, option] : cases) {
    std::vector<std::string> argv = {exe};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run(argv);
    INFO(args.front() << " -> " << r.err);
    CHECK(r.code() == 2);
    CHECK_THAT(r.err, Catch::Contains(option));
  }
}

}  // namespace test
