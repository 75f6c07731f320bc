// Behaviour of chapter 09 (blocking in the event loop): where a blocking call stalls what.  The
// bounds follow from the schedule (a tick due during a blocking call on its thread waits for
// the call) and from where each call ran, so they hold on a loaded machine too.  How small the
// lag is elsewhere is timing — a CPU quota parks every thread for up to half of each period, a
// TSan build on two cores runs twelve threads slowly — so it is the claims' business, not a test's.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using nlohmann::json;

namespace {

std::string exe() { return test::exe_from_env("WB_BLOCKING_IN_THE_LOOP"); }

double counter(const json& rec, const char* name) { return rec["counters"][name].get<double>(); }

// The four variants, in the chapter's order: sync, async-blocking, async-offload, async-chunked.
std::vector<json> run_all(const char* kind) {
  return test::run_records(exe(),
                           {"--block-kind", kind, "--block-ms", "60", "--every-ms", "120", "--duration-ms", "360"}, 4);
}

}  // namespace

TEST_CASE("a blocking call on the loop thread stalls the heartbeats for the whole call; offloaded it runs elsewhere",
          "[blocking-in-the-loop]") {
  for (const char* kind : {"sleep", "cpu", "file"}) {
    const auto recs = run_all(kind);
    const auto &sync = recs[0], &blocking = recs[1], &offload = recs[2], &chunked = recs[3];
    INFO(kind << "\nsync " << sync["counters"].dump() << "\nblocking " << blocking["counters"].dump() << "\noffload "
              << offload["counters"].dump() << "\nchunked " << chunked["counters"].dump());
    for (const auto& r : recs) {
      CHECK(r["result_digest"] == recs[0]["result_digest"]);
      CHECK(counter(r, "blocking_ops") == 3);
      CHECK(counter(r, "blocking_lost") == 0);
    }
    // A tick due just after a call began waits for all of it (the heartbeats' phases are
    // spread over a tick of 5 ms: one is due within 0.5 ms of the start).
    CHECK(counter(blocking, "lag_max_ms") >= 0.9 * 60);
    CHECK(counter(blocking, "ticks_missed") >= 3 * 10 * 5);  // each call: 12 ticks of 10 heartbeats
    // Where each call ran: on the heartbeats' thread (the pitfall, and the slices between which
    // the loop runs), or on a thread of its own.
    CHECK(counter(blocking, "blocking_on_heartbeat_threads") == 3);
    CHECK(counter(chunked, "blocking_on_heartbeat_threads") == 3);
    CHECK(counter(offload, "blocking_on_heartbeat_threads") == 0);
    CHECK(counter(sync, "blocking_on_heartbeat_threads") == 0);
  }
}

TEST_CASE("the threads each way takes: one per task, one, one and the pool's", "[blocking-in-the-loop]") {
  const auto recs = run_all("sleep");
  CHECK(recs[0]["metrics"]["peak_threads"] >= 10 + 1 + 1);  // heartbeats, blocker, main
  CHECK(recs[1]["metrics"]["peak_threads"] == 1);
  CHECK(recs[2]["metrics"]["peak_threads"] == 2);  // the loop and one pool thread for one blocker
  CHECK(recs[3]["metrics"]["peak_threads"] == 1);
}

TEST_CASE("blocking-in-the-loop: one variant or a list runs; bad input exits 2 naming the option",
          "[blocking-in-the-loop]") {
  const auto one = test::run_records(exe(), {"--mode", "async-offload", "--duration-ms", "50"}, 1);
  CHECK(one[0]["variant"] == "async-offload");
  const auto two = test::run_records(exe(), {"--mode", "async-chunked,sync", "--duration-ms", "50"}, 2);
  CHECK(two[0]["variant"] == "sync");
  CHECK(two[1]["variant"] == "async-chunked");
  test::expect_usage_errors(exe(), test::UsageCases{
                                       {{"--mode", "async"}, "--mode"},
                                       {{"--block-kind", "network"}, "--block-kind"},
                                       {{"--tick-ms", "0"}, "--tick-ms"},
                                       {{"--slice-us", "0"}, "--slice-us"},
                                       {{"--tmp-dir", "/nonexistent/dir", "--block-kind", "file"}, "/nonexistent"},
                                   });
}
