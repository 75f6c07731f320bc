// Behaviour of chapter 06 (worker queue): what a full queue does to producers, jobs and memory.
// The bounds below follow from the schedule and the backend's delay alone (a call never takes
// less than --job-ms), so they hold on any machine, loaded or not.
#include <algorithm>

#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_WORKER_QUEUE"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// Both variants at these settings; each record is checked to be ok.
std::vector<json> run_both(const std::vector<std::string>& args) { return test::run_records(exe(), args); }

// A burst of 4 x capacity for 150 ms: capacity is 4 workers x 1000 / 10 ms = 400 jobs/s, so the
// schedule holds 1600 x 0.15 = 240 jobs.
const std::vector<std::string> kBurst = {"--pattern",      "burst", "--workers",  "4",   "--job-ms",      "10",
                                         "--burst-factor", "4",     "--burst-ms", "150", "--duration-ms", "150",
                                         "--payload-kib",  "64"};
constexpr double kJobs = 240, kCapacityPerS = 400, kWorkers = 4;

// The options `a` with `more` (option, value, ...) set: a value given again replaces the first.
std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<const char*> more) {
  for (auto it = more.begin(); it != more.end() && it + 1 != more.end(); it += 2) {
    const auto at = std::find(a.begin(), a.end(), *it);
    if (at != a.end()) {
      *(at + 1) = *(it + 1);
    } else {
      a.insert(a.end(), {*it, *(it + 1)});
    }
  }
  return a;
}

}  // namespace

TEST_CASE("every scheduled job is completed, rejected or dropped, in every mode and both variants", "[worker-queue]") {
  for (const char* when_full : {"block", "reject", "drop-oldest"}) {
    for (const char* capacity : {"8", "0"}) {
      const auto recs = run_both(with(kBurst, {"--when-full", when_full, "--queue-capacity", capacity}));
      CHECK(recs[0]["result_digest"] == recs[1]["result_digest"]);
      for (const auto& r : recs) {
        INFO(when_full << " capacity " << capacity << " " << r["variant"] << ": " << r["counters"].dump());
        CHECK(counter(r, "scheduled") == kJobs);
        CHECK(counter(r, "lost") == 0);
        CHECK(counter(r, "failed") == 0);
        CHECK(counter(r, "accepted") + counter(r, "rejected") == kJobs);
        CHECK(counter(r, "completed") + counter(r, "dropped") == counter(r, "accepted"));
        CHECK(r["metrics"]["ops"] == counter(r, "completed"));
        if (std::string(capacity) == "0" || std::string(when_full) == "block") {
          CHECK(counter(r, "completed") == kJobs);  // nothing pushes a job out
        } else {
          CHECK(counter(r, std::string(when_full) == "reject" ? "rejected" : "dropped") > 0);
        }
      }
    }
  }
}

TEST_CASE("a bounded queue never holds more than its capacity; a burst fills it", "[worker-queue]") {
  for (const char* when_full : {"block", "reject", "drop-oldest"}) {
    for (const auto& r : run_both(with(kBurst, {"--when-full", when_full, "--queue-capacity", "8"}))) {
      INFO(when_full << " " << r["variant"] << ": " << r["counters"].dump());
      CHECK(counter(r, "peak_depth") == 8);
      CHECK(counter(r, "over_capacity") == 0);
      // The sampled series agrees with the counter.
      double most = 0;
      for (const auto& p : r["series"]["queue_depth"]) most = std::max(most, p[1].get<double>());
      CHECK(most == 8);
    }
  }
}

TEST_CASE("blocking on a full queue holds the producers back: they fall behind their schedule", "[worker-queue]") {
  // The last job is due at 150 ms; it can only enter once all but `capacity` jobs before it
  // have been taken, and the workers take at most one per 10 ms each.
  const double capacity = 8;
  const double bound_ms = (kJobs - capacity - kWorkers) / kCapacityPerS * 1000 - 150;  // 420 ms
  for (const auto& r : run_both(with(kBurst, {"--when-full", "block", "--queue-capacity", "8"}))) {
    INFO(r["variant"] << ": " << r["counters"].dump());
    CHECK(counter(r, "producer_lag_max_ms") >= 0.95 * bound_ms);
    CHECK(r["series"]["producer_lag_ms"].size() > 10);
  }
  // Turning jobs away or dropping old ones never makes a producer wait: the lag above is the
  // queue's doing.  (Not a bound on their lag: on a slow machine the coroutine producers share
  // their one thread with the workers' calls, and fall behind for that.)
  for (const char* when_full : {"reject", "drop-oldest"}) {
    for (const auto& r : run_both(with(kBurst, {"--when-full", when_full, "--queue-capacity", "8"}))) {
      INFO(when_full << " " << r["variant"] << ": " << r["counters"].dump());
      CHECK(counter(r, "waits_for_room") == 0);
    }
  }
}

TEST_CASE("an unbounded queue takes the whole backlog, and its memory with it", "[worker-queue]") {
  const auto bounded = run_both(with(kBurst, {"--queue-capacity", "8", "--payload-kib", "256"}));
  const auto unbounded = run_both(with(kBurst, {"--queue-capacity", "0", "--payload-kib", "256"}));
  for (std::size_t v = 0; v < 2; ++v) {
    const auto& r = unbounded[v];
    INFO(r["variant"] << ": " << r["counters"].dump());
    CHECK(counter(r, "waits_for_room") == 0);  // nothing pushed back
    CHECK(counter(bounded[v], "waits_for_room") > 0);
    // When the last job went in (at 150 ms + the producers' lag), the workers can have taken at
    // most 400 jobs/s of it: a call never takes less than 10 ms.  So at least this many waited
    // — however slow the machine (a slow one lags more, and the bound says less).
    const double lag_s = counter(r, "producer_lag_max_ms") / 1000;
    const double backlog = kJobs - kCapacityPerS * (0.150 + lag_s) - kWorkers;
    CHECK(counter(r, "peak_depth") >= backlog);
    // Waiting payloads of 256 KiB: RSS grows by most of them, the bounded run's by a few MiB (8
    // queued, 4 running).
    const auto growth = [](const json& rec) {
      return rec["metrics"]["peak_rss_kib"].get<double>() - rec["metrics"]["start_rss_kib"].get<double>();
    };
    CHECK(growth(r) >= 0.8 * backlog * 256);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // ASan keeps freed memory in quarantine (256 MiB by default), and TSan's shadow memory grows
    // with every page the run touches (a bounded run grew 145 MiB under TSan, its unbounded twin
    // 80 MiB): in these builds RSS cannot tell the two apart.
    WARN("sanitizer build: the bounded run's RSS growth is not compared (" << growth(bounded[v]) << " KiB)");
#else
    CHECK(growth(r) > 4 * growth(bounded[v]));
#endif
  }
}

TEST_CASE("the coroutine queue runs on one thread; the blocking one holds a thread per producer and worker",
          "[worker-queue]") {
  const auto recs = run_both(with(kBurst, {"--producers", "3", "--workers", "6"}));
  CHECK(recs[0]["metrics"]["peak_threads"] >= 3 + 6 + 1);
  CHECK(recs[1]["metrics"]["peak_threads"] == 1);
}

TEST_CASE("worker-queue: bad input exits 2 naming the option", "[worker-queue]") {
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--queue-capacity", "-1"}, "--queue-capacity"},
                                       {{"--when-full", "wait"}, "--when-full"},
                                       {{"--pattern", "sawtooth"}, "--pattern"},
                                       {{"--job-ms", "0"}, "--job-ms"},
                                       {{"--rate-per-s", "0"}, "--rate-per-s"},
                                       {{"--payload-kib", "99999"}, "--payload-kib"},
                                       {{"--rate-per-s", "100000", "--duration-ms", "600000"}, "rate"},
                                   });
}
