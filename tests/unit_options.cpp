// The harness's option handling, exercised in-process: what a student sees when a value is out
// of range, and what --describe promises the runner.
#include <sys/resource.h>

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

TEST_CASE("a chapter declares named variants and a baseline; --mode picks one, a list, or all", "[options][variants]") {
  std::int64_t n = 1;
  auto make = [&] {
    wb::Chapter c({.name = "loop",
                   .title = "four ways",
                   .sections = {},
                   .claims = {},
                   .ops_unit = "tick",
                   .variants = {{"sync", wb::Model::threads, "a thread each"},
                                {"async-blocking", wb::Model::coroutines, "the pitfall"},
                                {"async-offload", wb::Model::coroutines, "a pool"},
                                {"async-chunked", wb::Model::coroutines, "slices"}},
                   .baseline = "async-blocking"});
    c.knob("--n", n, "n", 1, 10, "n");
    c.claim({.id = "c1",
             .claim = "C26",
             .lhs = "async-offload.wall_s",
             .op = "<",
             .rhs = "async-blocking.wall_s",
             .why = "offloading frees the loop"});
    return c;
  };
  auto c = make();
  const auto d = c.describe();
  CHECK(d["variants"] == nlohmann::json({"sync", "async-blocking", "async-offload", "async-chunked"}));
  CHECK(d["baseline"] == "async-blocking");
  CHECK(d["variant_info"][2]["summary"] == "a pool");
  CHECK(d["variant_info"][0]["model"] == "threads");
  CHECK(d["variant_info"][2]["model"] == "coroutines");

  // One variant runs here; the body sees its name and its place in the list.
  std::vector<std::string> seen;
  int index = -1;
  auto c1 = make();
  REQUIRE_FALSE(c1.parse({"--mode", "async-offload", "--json", "/dev/null"}).has_value());
  CHECK(c1.run([&](const wb::Variant& v, wb::Run& run) {
    seen.push_back(v.name());
    index = v.index();
    CHECK_FALSE(v.blocking());  // declared as coroutines: main() runs run_async
    CHECK(v.is("async-offload"));
    CHECK_FALSE(v.is("sync"));
    CHECK_THROWS_AS(v.is("async"), std::logic_error);  // not declared: a bug in the chapter
    run.measure([] { return wb::Outcome{1, "d"}; });
  }) == 0);
  CHECK(seen == std::vector<std::string>{"async-offload"});
  CHECK(index == 2);

  // A name the chapter lacks, or "async" where there is none, is bad usage; lists and all parse.
  for (const std::string mode : {"async", "sync,nope", "", "async-offload,"}) {
    auto k = make();
    INFO(mode);
    const auto code = k.parse({"--mode", mode});
    REQUIRE(code.has_value());
    CHECK(*code == 2);
  }
  for (const std::string mode : {"all", "both", "sync,async-chunked", "async-chunked,sync"}) {
    auto k = make();
    INFO(mode);
    CHECK_FALSE(k.parse({"--mode", mode}).has_value());
  }
}

TEST_CASE("a run knows its seed and its knobs as words; a helper process runs from parse()", "[options][helper]") {
  std::int64_t n = 3;
  std::string helper = "off";
  std::vector<std::string> helper_ran;
  auto make = [&] {
    wb::Chapter c({.name = "selfish", .title = "starts itself", .sections = {}, .claims = {}, .ops_unit = "op"});
    c.knob("--n", n, "n", 1, 10, "n");
    c.helper_process("--child", helper, "internal", {"off", "on"}, [&](std::int64_t seed) {
      helper_ran.push_back(helper + " seed " + std::to_string(seed));
      return 7;
    });
    return c;
  };
  // A trial: its args() are the knobs and --seed, without the helper's option, and its variant
  // is sync (threads) by default.
  auto c = make();
  REQUIRE_FALSE(c.parse({"--mode", "sync", "--n", "5", "--seed", "42", "--json", "/dev/null"}).has_value());
  std::vector<std::string> args;
  std::int64_t seed = 0;
  bool blocking = false;
  CHECK(c.run([&](const wb::Variant& v, wb::Run& run) {
    args = run.args();
    seed = run.seed();
    blocking = v.blocking();
    run.measure([] { return wb::Outcome{1, "d"}; });
  }) == 0);
  CHECK(seed == 42);
  CHECK(blocking);
  CHECK(args == std::vector<std::string>{"--n", "5", "--seed", "42"});
  CHECK(helper_ran.empty());
  // The helper's option: parse() runs it, with --seed's value, and its exit code is the process's.
  auto h = make();
  const auto code = h.parse({"--n", "5", "--child", "on", "--seed", "9"});
  REQUIRE(code.has_value());
  CHECK(*code == 7);
  CHECK(helper_ran == std::vector<std::string>{"on seed 9"});
  // The first choice must be the default: "a trial as usual".
  std::string wrong = "on";
  wb::Chapter w({.name = "w", .title = "w", .sections = {}, .claims = {}, .ops_unit = "op"});
  CHECK_THROWS_AS(w.helper_process("--child", wrong, "x", {"off", "on"}, [](std::int64_t) { return 0; }),
                  std::logic_error);
}

TEST_CASE("a chapter's variant list is checked when it is declared", "[options][variants]") {
  auto info = [](std::vector<wb::VariantInfo> variants, std::string baseline = {}) {
    return wb::ChapterInfo{.name = "x",
                           .title = "x",
                           .sections = {},
                           .claims = {},
                           .ops_unit = "op",
                           .variants = std::move(variants),
                           .baseline = std::move(baseline)};
  };
  CHECK_THROWS_AS(wb::Chapter(info({{"a", wb::Model::threads, ""}, {"a", wb::Model::threads, ""}})),
                  std::logic_error);                                                          // twice
  CHECK_THROWS_AS(wb::Chapter(info({{"Async", wb::Model::threads, ""}})), std::logic_error);  // not a plain word
  CHECK_THROWS_AS(wb::Chapter(info({{"all", wb::Model::threads, ""}})), std::logic_error);    // a --mode keyword
  CHECK_THROWS_AS(wb::Chapter(info({{"a", wb::Model::threads, ""}, {"b", wb::Model::threads, ""}}, "c")),
                  std::logic_error);  // baseline not among them
  wb::Chapter fine(info({}));
  CHECK(fine.describe()["variants"] == nlohmann::json({"sync", "async"}));
  CHECK(fine.describe()["baseline"] == "sync");
  // An expectation over a variant the chapter does not have could never be checked.
  auto statement = [](std::string lhs, std::string rhs) {
    return wb::Expectation{
        .id = "e", .claim = "C4", .lhs = std::move(lhs), .op = "<=", .rhs = std::move(rhs), .why = "w"};
  };
  CHECK_THROWS_AS(fine.invariant(statement("threads.peak_threads", "4")), std::logic_error);
  CHECK_THROWS_AS(fine.invariant(statement("async.peak_threads", "asyncpeak")), std::logic_error);
  CHECK_NOTHROW(fine.invariant(statement("async.peak_threads", "4")));
}

TEST_CASE("a run whose variant throws is recorded as failed with the reason", "[options]") {
  wb::Run run(wb::Variant("sync", 0, {"sync", "async"}), {});
  run.measure([]() -> wb::Outcome { throw std::runtime_error("the disk is on fire"); });
  CHECK(run.record().status == "failed");
  CHECK(run.record().reason == "the disk is on fire");
}

TEST_CASE("a run measures wall time, operations and latency of its region", "[options]") {
  wb::Run run(wb::Variant("async", 1, {"sync", "async"}), {});
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
  wb::Run run(wb::Variant("sync", 0, {"sync", "async"}), {});
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

TEST_CASE("the sampler's own CPU is reported apart and left out of the region's", "[options]") {
  // A region that only sleeps spends next to no CPU of its own; the sampler wakes on its period
  // all the while, and what it spends is reported as harness_cpu_s, not as cpu_user_s/cpu_sys_s.
  // The process's own CPU around the meter (getrusage, as the meter reads it) is the yardstick:
  // whatever this machine's speed or a CPU quota makes of the amounts, the region's CPU is the
  // process's less the sampler's — not the process's.
  const auto process_cpu_s = [] {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const auto s = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return s(ru.ru_utime) + s(ru.ru_stime);
  };
  const double before = process_cpu_s();
  wb::ResourceMeter meter{std::chrono::microseconds(200)};  // a fast sampler, so it spends plenty
  meter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto u = meter.stop();
  const double process = process_cpu_s() - before;
  CHECK(u.harness_cpu_s > 0);
  CHECK(u.harness_cpu_s < u.wall_s);
  // The sampler woke ~1,500 times (tens of microseconds of CPU each).  Were its CPU not
  // subtracted, the region's would be the whole process's.
  INFO("region " << u.cpu_user_s + u.cpu_sys_s << " s, sampler " << u.harness_cpu_s << " s, process " << process
                 << " s");
  CHECK(u.cpu_user_s + u.cpu_sys_s <= process - u.harness_cpu_s / 2);
}

TEST_CASE("stopping the meter does not wait out the sampler's period", "[options]") {
  // A 10 s period: a sampler that only looked at its flag between sleeps would hold stop() for
  // up to 10 s, and this test for as long (meson's timeout for the unit suite is 30 s a test).
  wb::ResourceMeter meter{std::chrono::seconds(10)};
  meter.start();
  const auto t0 = std::chrono::steady_clock::now();
  (void)meter.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}
