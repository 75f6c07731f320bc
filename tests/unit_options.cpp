// The harness's option handling, exercised in-process: what a student sees when a value is out
// of range, and what --describe promises the runner.
#include <catch2/catch.hpp>

#include "common/chapter.hpp"

namespace {

struct Knobs {
  std::int64_t tasks = 10;
  double rate = 1.5;
  std::string policy = "all";
  std::string path;
};

wb::Chapter demo(Knobs& k) {
  wb::Chapter c({.name = "demo", .title = "a demo", .sections = {"1"}, .claims = {"C3"}, .ops_unit = "task"});
  c.knob("--tasks", k.tasks, "tasks to run", 1, 100, "tasks");
  c.knob("--rate", k.rate, "rate", 0.5, 2.0, "1/s");
  c.knob("--policy", k.policy, "policy", {"all", "first"});
  c.text_knob("--path", k.path, "a path", [](const std::string& p) {
    if (p == "bad") throw wb::UsageError("--path bad is not allowed");
  });
  c.invariant({.id = "e1",
               .claim = "C3",
               .where = {{"tasks", 10}},
               .lhs = "async.peak_threads",
               .op = "<",
               .factor = 0.5,
               .rhs = "sync.peak_threads",
               .why = "because"});
  return c;
}

}  // namespace

TEST_CASE("values in range are accepted and bound to the scenario's variables", "[options]") {
  Knobs k;
  auto c = demo(k);
  CHECK_FALSE(
      c.parse({"--tasks", "42", "--rate", "2", "--policy", "first", "--path", "/x", "--seed", "9"}).has_value());
  CHECK(k.tasks == 42);
  CHECK(k.rate == 2.0);
  CHECK(k.policy == "first");
  CHECK(k.path == "/x");
  CHECK(c.seed() == 9);
}

TEST_CASE("a value out of range, an unknown choice or option, or a bad mode exits 2", "[options]") {
  const std::vector<std::vector<std::string>> bad = {
      {"--tasks", "0"},  {"--tasks", "101"}, {"--tasks", "ten"},     {"--rate", "0.1"}, {"--policy", "x"},
      {"--path", "bad"}, {"--nope"},         {"--mode", "parallel"}, {"--seed", "-1"},
  };
  for (const auto& args : bad) {
    Knobs k;
    auto c = demo(k);
    INFO(args.front() << " " << (args.size() > 1 ? args[1] : ""));
    const auto code = c.parse(args);
    REQUIRE(code.has_value());
    CHECK(*code == 2);
  }
}

TEST_CASE("--describe lists every option with its default, range and unit, and the expectations", "[options]") {
  Knobs k;
  auto c = demo(k);
  const auto d = c.describe();
  CHECK(d["name"] == "demo");
  const auto& opts = d["options"];
  REQUIRE(opts.size() == 5);  // four knobs and --seed
  CHECK(opts[0]["param"] == "tasks");
  CHECK(opts[0]["default"] == 10);
  CHECK(opts[0]["min"] == 1);
  CHECK(opts[0]["max"] == 100);
  CHECK(opts[0]["unit"] == "tasks");
  CHECK(opts[2]["choices"] == nlohmann::json({"all", "first"}));
  CHECK(opts[4]["param"] == "seed");
  REQUIRE(d["expectations"].size() == 1);
  CHECK(d["expectations"][0]["text"] == "async.peak_threads < 0.5 * sync.peak_threads");
  CHECK(d["expectations"][0]["where"]["tasks"] == 10);
}

TEST_CASE("a run whose variant throws is recorded as failed with the reason", "[options]") {
  wb::Run run(wb::Variant::sync, {});
  run.measure([]() -> wb::Outcome { throw std::runtime_error("the disk is on fire"); });
  CHECK(run.record().status == "failed");
  CHECK(run.record().reason == "the disk is on fire");
}

TEST_CASE("a run measures wall time, operations and latency of its region", "[options]") {
  wb::Run run(wb::Variant::async, {});
  run.measure([&] {
    for (int i = 0; i < 10; ++i) run.latency().record(1000 * (i + 1));
    return wb::Outcome{10, "abc"};
  });
  const auto& r = run.record();
  CHECK(r.status == "ok");
  CHECK(r.metrics.ops == 10);
  CHECK(r.metrics.latency.count == 10);
  CHECK(r.metrics.latency.max_us == Approx(10.0));
  CHECK(r.metrics.wall_s > 0);
  CHECK(r.metrics.resources.peak_threads >= 1);
  CHECK(r.metrics.resources.peak_rss_kib > 0);
  CHECK(r.result_digest == "abc");
}

TEST_CASE("the peak thread count sees threads that lived only briefly", "[options]") {
  wb::Run run(wb::Variant::sync, {});
  run.measure([] {
    // 20 threads alive at once, each for far less than the sampler's period, joined together.
    std::vector<std::jthread> threads;
    std::atomic<int> started{0};
    std::atomic<bool> go{false};
    for (int i = 0; i < 20; ++i) {
      threads.emplace_back([&] {
        ++started;
        while (!go) std::this_thread::yield();
      });
    }
    while (started < 20) std::this_thread::yield();
    go = true;
    return wb::Outcome{20, ""};
  });
  CHECK(run.record().metrics.resources.peak_threads >= 21);
}
