// Behaviour of chapter 10 (scheduling costs): what each scenario counts, and what the structure
// of each kind of unit makes certain — a thread per unit, one thread for any number of
// coroutines, a kernel switch per hand-off between threads and none between coroutines, a
// kernel stack per thread.  How much each costs is for the gate (release build) and the claims.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_SCHEDULING_COSTS"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// The three variants, in the chapter's order: threads, stackless, stackful.
std::vector<json> run_all(std::vector<std::string> args) { return test::run_records(exe(), std::move(args), 3); }

}  // namespace

TEST_CASE("a switch between threads is a kernel context switch; between coroutines it is not", "[scheduling-costs]") {
  for (const char* via : {"notify", "direct", "ring"}) {
    const auto recs = run_all({"--scenario", "switch", "--via", via, "--round-trips", "2000", "--ring", "4"});
    const auto &threads = recs[0], &stackless = recs[1], &stackful = recs[2];
    INFO(via << "\nthreads " << threads["counters"].dump() << "\nstackless " << stackless["counters"].dump()
             << "\nstackful " << stackful["counters"].dump());
    for (const auto& r : recs) {
      CHECK(r["result_digest"] == recs[0]["result_digest"]);
      CHECK(counter(r, "switches") == 4000);
      CHECK(r["metrics"]["ops"] == 4000);
      CHECK(counter(r, "ns_per_switch") > 0);
    }
    // Pinned to one core, a thread that hands over must sleep for the other to run: a kernel
    // switch each way.  Coroutines hand over inside one thread (the harness's 1 ms sampler
    // accounts for the few switches they show).
    CHECK(counter(threads, "ctx_per_round_trip") >= 1);
    CHECK(counter(stackless, "ctx_per_round_trip") < 0.5);
    CHECK(counter(stackful, "ctx_per_round_trip") < 0.5);
    CHECK(threads["metrics"]["peak_threads"] == (std::string(via) == "ring" ? 5 : 3));
    CHECK(stackless["metrics"]["peak_threads"] == 1);
    CHECK(stackful["metrics"]["peak_threads"] == 1);
  }
}

TEST_CASE("spawn: every unit runs once and is waited for, one at a time or in batches", "[scheduling-costs]") {
  for (const char* batch : {"1", "100"}) {
    const auto recs = run_all({"--scenario", "spawn", "--spawns", "1000", "--batch", batch, "--work-ns", "100"});
    INFO("batch " << batch);
    for (const auto& r : recs) {
      CHECK(r["result_digest"] == recs[0]["result_digest"]);
      CHECK(r["metrics"]["ops"] == 1000);
      CHECK(counter(r, "work_ns") == 100);
      CHECK(counter(r, "ns_per_unit") > 0);
      CHECK(counter(r, "inline_ns_per_unit") > 0);
      CHECK(counter(r, "spawn_overhead_ns") ==
            Approx(counter(r, "ns_per_unit") - counter(r, "inline_ns_per_unit")).margin(1e-6));
    }
    // A thread each while they run: at least one besides main.  (No upper bound from the batch:
    // join() returns once the thread has cleared its tid, and the kernel may still count it in
    // /proc for a moment while the next one starts — an ASan build in CI saw 3 with batch 1.)
    CHECK(recs[0]["metrics"]["peak_threads"] >= 2);
    CHECK(recs[1]["metrics"]["peak_threads"] == 1);
    CHECK(recs[2]["metrics"]["peak_threads"] == 1);
  }
}

TEST_CASE("memory: N units parked at once and all finished; a thread each, with a kernel stack each",
          "[scheduling-costs]") {
  const auto recs = run_all({"--scenario", "memory", "--units", "2000"});
  const auto &threads = recs[0], &stackless = recs[1], &stackful = recs[2];
  INFO("threads " << threads["counters"].dump() << "\nstackless " << stackless["counters"].dump() << "\nstackful "
                  << stackful["counters"].dump());
  for (const auto& r : recs) {
    CHECK(r["result_digest"] == recs[0]["result_digest"]);
    CHECK(counter(r, "units_parked") == 2000);
    CHECK(counter(r, "units_unfinished") == 0);
    CHECK(counter(r, "user_bytes_per_unit") > 0);
    CHECK(counter(r, "bytes_per_unit") ==
          Approx(counter(r, "user_bytes_per_unit") + counter(r, "kernel_bytes_per_unit")));
    CHECK(r["info"]["stopped_by"] == "--units");
  }
  CHECK(threads["metrics"]["peak_threads"] >= 2001);
  CHECK(stackless["metrics"]["peak_threads"] == 1);
  CHECK(stackful["metrics"]["peak_threads"] == 1);
  // A kernel stack is at least 8 KiB a thread on every 64-bit Linux (16 KiB on x86-64); the
  // machine-wide count moves by more than that per thread, and not for coroutines' sake.
  CHECK(counter(threads, "kernel_bytes_per_unit") > 4096);
}

TEST_CASE("ceiling: the climb stops at the first limit and says which", "[scheduling-costs]") {
  // No limit in the way (the budget out of reach even of a sanitizer's shadow memory): every
  // kind reaches --ceiling-units.
  auto recs = run_all({"--scenario", "ceiling", "--ceiling-units", "3000", "--memory-budget-mib", "65536"});
  for (const auto& r : recs) {
    CHECK(counter(r, "units_parked") == 3000);
    CHECK(counter(r, "units_unfinished") == 0);
    CHECK(r["info"]["stopped_by"] == "--ceiling-units");
  }
  // The memory budget stops coroutines; the reserve below the OS's limits stops threads (a
  // reserve larger than any limit leaves room for none).
  recs = run_all({"--scenario", "ceiling", "--ceiling-units", "100000000", "--memory-budget-mib", "64",
                  "--thread-reserve", "1000000"});
  INFO(recs[0]["info"].dump() << "\n" << recs[1]["info"].dump() << "\n" << recs[2]["info"].dump());
  CHECK(counter(recs[0], "units_parked") == 0);
  CHECK_THAT(recs[0]["info"]["stopped_by"].get<std::string>(), Catch::Contains("less --thread-reserve 1000000"));
  for (const auto* r : {&recs[1], &recs[2]}) {
    CHECK(counter(*r, "units_parked") < 100000000);
    CHECK(counter(*r, "units_unfinished") == 0);
    CHECK((*r)["info"]["stopped_by"] == "--memory-budget-mib 64");
  }
}

TEST_CASE("scheduling-costs: one variant or a list runs; bad input exits 2 naming the option", "[scheduling-costs]") {
  const auto one = test::run_records(exe(), {"--mode", "stackful", "--round-trips", "100"}, 1);
  CHECK(one[0]["variant"] == "stackful");
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--mode", "fibers"}, "--mode"},
                                       {{"--scenario", "yield"}, "--scenario"},
                                       {{"--via", "futex"}, "--via"},
                                       {{"--ring", "1"}, "--ring"},
                                       {{"--batch", "0"}, "--batch"},
                                       {{"--units", "5"}, "--units"},
                                       {{"--memory-budget-mib", "1"}, "--memory-budget-mib"},
                                   });
}
