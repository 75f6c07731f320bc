// Invariants and claims: which kind gates, how a claim gets its verdict from the repetitions'
// spread, the ledger built from those verdicts, and the changes between two ledgers.
#include <fstream>

#include <catch2/catch.hpp>

#include "common/process.hpp"
#include "runners/claims.hpp"
#include "tests/support.hpp"

using nlohmann::json;
using namespace wb::runner;

namespace {

json trial(const std::string& variant, double wall, const std::string& backend = "io_uring", json params = {{"n", 1}}) {
  return {{"chapter", "c"},
          {"variant", variant},
          {"params", std::move(params)},
          {"status", "ok"},
          {"info", {{"backend", backend}}},
          {"metrics", {{"wall_s", wall}, {"peak_threads", variant == "sync" ? 17 : 1}}},
          {"result_digest", "same"}};
}

json doc_of(json trials, const std::string& host = "h") {
  return {{"schema", "workbench.results/1"}, {"context", {{"host", host}}}, {"trials", std::move(trials)}};
}

json declaration(const std::string& id, const std::string& kind, const std::string& claim, const std::string& lhs,
                 const std::string& op, double factor, const std::string& rhs, json only_if = json::object()) {
  return {{"id", id},         {"kind", kind}, {"claim", claim},          {"lhs", lhs},        {"op", op},
          {"factor", factor}, {"rhs", rhs},   {"where", json::object()}, {"only_if", only_if}};
}

json described(json declarations) {
  return {{"c", {{"name", "c"}, {"options", json::array()}, {"expectations", std::move(declarations)}}}};
}

// async wall times a, sync wall times s: three repetitions each.
json doc_with_walls(std::vector<double> a, std::vector<double> s, const std::string& host = "h") {
  json ts = json::array();
  for (std::size_t i = 0; i < a.size(); ++i) ts.push_back(trial("async", a[i]));
  for (std::size_t i = 0; i < s.size(); ++i) ts.push_back(trial("sync", s[i]));
  return doc_of(ts, host);
}

const json kFaster = described({declaration("faster", "claim", "C7", "async.wall_s", "<=", 1.0, "sync.wall_s")});

std::vector<ClaimInfo> catalog() {
  return {{"C3", {"2.2"}, "same result", ""},
          {"C7", {"3.2"}, "async is more efficient", ""},
          {"C8", {"4.1"}, "cheap switches", "a ping-pong"}};
}

}  // namespace

TEST_CASE("a claim holds when every repetition is on its side of the bound", "[claims]") {
  const auto r = check_expectations(doc_with_walls({1.0, 1.1, 0.9}, {2.0, 2.1, 1.9}), kFaster);
  REQUIRE(r.verdicts.size() == 1);
  const auto& v = r.verdicts[0];
  CHECK(v.status == "holds");
  CHECK(v.lhs_median == 1.0);
  CHECK(v.rhs_median == 2.0);
  CHECK(v.ratio == Approx(0.5));
  // 3 + 3 with every pair on the side: the exact rank test's smallest p, 1 / C(6, 3).
  CHECK(v.p_value == Approx(1.0 / 20));
  // The interval that goes with it is the lowest to the highest pairwise ratio: 90 % exactly.
  CHECK(v.ratio_low == Approx(0.9 / 2.1));
  CHECK(v.ratio_high == Approx(1.1 / 1.9));
  CHECK(v.coverage == Approx(0.9));
  CHECK(v.n_lhs == 3);
  CHECK(v.n_rhs == 3);
}

TEST_CASE("the rank test's level is exact: five repetitions may overlap a little and still decide", "[claims]") {
  // 5 + 5: U counts the 25 pairs on the claim's side.  One lhs value above one rhs value
  // (24 of 25) gives p = 2 / 252; more overlap than the 5 % level allows leaves it open.
  auto r = check_expectations(doc_with_walls({1.0, 1.1, 0.9, 1.2, 1.95}, {2.0, 2.1, 1.9, 2.2, 2.3}), kFaster);
  CHECK(r.verdicts.at(0).status == "holds");
  CHECK(r.verdicts.at(0).p_value == Approx(2.0 / 252));
  r = check_expectations(doc_with_walls({1.0, 2.15, 2.05, 1.2, 1.95}, {2.0, 2.1, 1.9, 2.2, 1.0}), kFaster);
  CHECK(r.verdicts.at(0).status == "inconclusive");
  // The interval at 5 + 5: the 5th lowest to the 5th highest of the 25 ratios, coverage 1 - 2 x 12/252.
  CHECK(r.verdicts.at(0).coverage == Approx(1 - 2 * 12.0 / 252));
}

TEST_CASE("against a constant, a sign test: three repetitions cannot decide, five can", "[claims]") {
  const auto few = described({declaration("few", "claim", "C6", "async.peak_threads", "<=", 1.0, "2")});
  json ts = json::array();
  for (int i = 0; i < 3; ++i) ts.push_back(trial("async", 1.0));
  CHECK(check_expectations(doc_of(ts), few).verdicts.at(0).status == "inconclusive");  // p = 1/8
  for (int i = 0; i < 2; ++i) ts.push_back(trial("async", 1.0));
  const auto v = check_expectations(doc_of(ts), few).verdicts.at(0);
  CHECK(v.status == "holds");
  CHECK(v.p_value == Approx(1.0 / 32));
}

TEST_CASE("a tie is within the factor both ways, and is context, never a claim's verdict", "[claims]") {
  const auto tie = described({declaration("same", "claim", "C7", "async.wall_s", "~", 1.25, "sync.wall_s")});
  auto r = check_expectations(doc_with_walls({1.0, 1.01, 0.99}, {1.0, 1.02, 0.98}), tie);
  CHECK(r.verdicts.at(0).status == "tie");
  CHECK(claim_verdict_of(r.verdicts.at(0)).empty());
  r = check_expectations(doc_with_walls({2.0, 2.1, 1.9}, {1.0, 1.02, 0.98}), tie);
  CHECK(r.verdicts.at(0).status == "not a tie");
  const auto ledger = build_ledger(check_expectations(doc_with_walls({1.0, 1.01, 0.99}, {1.0, 1.02, 0.98}), tie),
                                   catalog(), doc_with_walls({1.0}, {1.0}), tie);
  CHECK(ledger["claims"][1]["verdict"] == "not measured");  // a tie alone decides nothing
}

TEST_CASE("a check true by construction gates as a test and is never a claim's evidence", "[claims]") {
  auto d = described({declaration("built-in", "invariant", "C7", "async.wall_s", "<=", 1.0, "sync.wall_s")});
  d["c"]["expectations"][0]["by_construction"] = "the code fixes it";
  const json doc = doc_with_walls({1.0, 1.1, 0.9}, {2.0, 2.1, 1.9});
  const auto r = check_expectations(doc, d);
  CHECK(r.verdicts.at(0).status == "pass");
  CHECK(build_ledger(r, catalog(), doc, d)["claims"][1]["verdict"] == "not measured");
  const json worse = doc_with_walls({3.0, 3.1, 2.9}, {2.0, 2.1, 1.9});
  CHECK(check_expectations(worse, d).exit_code() == 1);  // it still gates
}

TEST_CASE("a variant the OS refused is evidence for the claim that names its wall", "[claims]") {
  auto d = described({declaration("wall", "claim", "C5", "sync.wall_s", ">=", 2.0, "async.wall_s")});
  d["c"]["expectations"][0]["refused_holds"] = "sync";
  json refused = trial("sync", 0);
  refused["status"] = "failed";
  refused["reason"] = "the OS refused thread 9001 of 10000: Resource temporarily unavailable";
  json crashed = refused;
  crashed["reason"] = "killed by signal 11";
  auto r = check_expectations(doc_of({trial("async", 1.0), refused, trial("async", 1.1), refused}), d);
  CHECK(r.verdicts.at(0).status == "holds");
  CHECK_THAT(r.verdicts.at(0).detail, Catch::Contains("refused thread 9001"));
  // A crash is not a wall: the side is missing.
  r = check_expectations(doc_of({trial("async", 1.0), crashed}), d);
  CHECK(r.verdicts.at(0).status == "missing");
}

TEST_CASE("a claim that needs more CPUs than the run had is not measured, and says why", "[claims]") {
  auto d = described({declaration("spread", "claim", "C9", "async.wall_s", "<=", 1.0, "sync.wall_s")});
  d["c"]["expectations"][0]["min_cpus"] = 4;
  json doc = doc_with_walls({1.0, 1.1, 0.9}, {2.0, 2.1, 1.9});
  doc["context"]["cpus"] = 2;
  const auto r = check_expectations(doc, d);
  CHECK(r.verdicts.at(0).status == "n/a");
  CHECK_THAT(r.verdicts.at(0).detail, Catch::Contains("needs 4 CPUs") && Catch::Contains("had 2"));
  doc["context"]["cpus"] = 8;
  CHECK(check_expectations(doc, d).verdicts.at(0).status == "holds");
}

TEST_CASE("a claim does not hold when every repetition is on the other side", "[claims]") {
  const auto r = check_expectations(doc_with_walls({3.0, 3.1, 2.9}, {2.0, 2.1, 1.9}), kFaster);
  CHECK(r.verdicts.at(0).status == "does not hold");
  CHECK(r.verdicts.at(0).ratio_low > 1.0);
}

TEST_CASE("a claim is inconclusive when the spread straddles the bound, or there is one repetition", "[claims]") {
  // Medians 1.0 against 1.05: the median holds, but the repetitions cross each other.
  auto r = check_expectations(doc_with_walls({1.0, 0.8, 1.3}, {1.05, 0.9, 1.2}), kFaster);
  CHECK(r.verdicts.at(0).status == "inconclusive");
  r = check_expectations(doc_with_walls({1.0}, {2.0}), kFaster);
  CHECK(r.verdicts.at(0).status == "inconclusive");
  CHECK_THAT(r.verdicts.at(0).detail, Catch::Contains("--repeat"));
}

TEST_CASE("a claim never changes the exit code; a failed invariant does", "[claims]") {
  const json slower = doc_with_walls({3.0, 3.1, 2.9}, {2.0, 2.1, 1.9});
  CHECK(check_expectations(slower, kFaster).exit_code() == 0);
  const auto as_invariant =
      described({declaration("faster", "invariant", "C7", "async.wall_s", "<=", 1.0, "sync.wall_s")});
  const auto r = check_expectations(slower, as_invariant);
  CHECK(r.verdicts.at(0).status == "fail");
  CHECK(r.exit_code() == 1);
  // A file from before kinds: its expectations were all gated, and still are.
  json old = as_invariant;
  old["c"]["expectations"][0].erase("kind");
  CHECK(check_expectations(slower, old).exit_code() == 1);
}

TEST_CASE("only_if limits a declaration to the trials it speaks of; none of them: n/a, not a failure", "[claims]") {
  const auto few = described(
      {declaration("few", "invariant", "C6", "async.peak_threads", "<=", 1.0, "2", {{"backend", "io_uring"}})});
  auto r = check_expectations(doc_of({trial("async", 1.0), trial("sync", 1.0)}), few);
  CHECK(r.verdicts.at(0).status == "pass");
  // Where the kernel refused io_uring the fallback pool has many threads: the statement says nothing.
  json pool = trial("async", 1.0, "thread pool (io_uring refused)");
  pool["metrics"]["peak_threads"] = 16;
  r = check_expectations(doc_of({pool, trial("sync", 1.0)}), few);
  CHECK(r.verdicts.at(0).status == "n/a");
  CHECK(r.exit_code() == 0);
}

TEST_CASE("verdicts combine: mixed only when some hold and some do not", "[claims]") {
  CHECK(combine_verdicts({"holds", "holds"}) == "holds");
  CHECK(combine_verdicts({"does not hold", "", "does not hold"}) == "does not hold");
  CHECK(combine_verdicts({"holds", "does not hold"}) == "mixed");
  CHECK(combine_verdicts({"holds", "inconclusive"}) == "holds");
  CHECK(combine_verdicts({"inconclusive", "does not hold"}) == "does not hold");
  CHECK(combine_verdicts({"inconclusive", ""}) == "inconclusive");
  CHECK(combine_verdicts({"mixed", "holds"}) == "mixed");  // chapters' verdicts combined across chapters
  CHECK(combine_verdicts({}) == "not measured");
  CHECK(combine_verdicts({"", ""}) == "not measured");
}

TEST_CASE("the ledger has a row per claim, a verdict per chapter, and marks what is not measured", "[claims]") {
  const json doc = doc_with_walls({1.0, 1.1, 0.9}, {2.0, 2.1, 1.9});
  json descs = kFaster;
  descs["c"]["expectations"].push_back(
      declaration("same", "invariant", "C3", "async.result_digest", "==", 1.0, "sync.result_digest"));
  const auto ledger = build_ledger(check_expectations(doc, descs), catalog(), doc, descs);
  REQUIRE(ledger["claims"].size() == 3);
  CHECK(ledger["claims"][0]["id"] == "C3");
  CHECK(ledger["claims"][0]["verdict"] == "holds");  // an invariant that passed supports its claim
  CHECK(ledger["claims"][0]["chapters"][0]["evidence"][0]["kind"] == "invariant");
  CHECK(ledger["claims"][0]["basis"] == "invariants");  // no measured comparison: said so
  CHECK(ledger["claims"][1]["verdict"] == "holds");
  CHECK(ledger["claims"][1]["basis"] == "measured");
  CHECK(ledger["claims"][2]["basis"] == "");
  const auto& e = ledger["claims"][1]["chapters"][0]["evidence"][0];
  CHECK(e["host"] == "h");
  CHECK(e["ratio"].get<double>() == Approx(0.5));
  CHECK(e["ratio_ci"].size() == 2);
  CHECK(e["n_lhs"] == 3);
  CHECK(ledger["claims"][2]["verdict"] == "not measured");
  CHECK(ledger["claims"][2]["chapters"].empty());
  CHECK(ledger["summary"]["holds"] == 2);
  CHECK(ledger["summary"]["not measured"] == 1);
}

TEST_CASE("a flip between two runs of one host is a regression; across hosts it is information", "[claims]") {
  const json before = doc_with_walls({1.0, 1.1, 0.9}, {2.0, 2.1, 1.9});
  const json after = doc_with_walls({3.0, 3.1, 2.9}, {2.0, 2.1, 1.9});
  const json blurred = doc_with_walls({1.0, 0.8, 1.3}, {1.05, 0.9, 1.2});
  const auto ledger = [&](const json& d) {
    return build_ledger(check_expectations(d, kFaster), catalog(), d, kFaster);
  };
  auto changes = ledger_changes(ledger(before), ledger(after));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0]["old"] == "holds");
  CHECK(changes[0]["new"] == "does not hold");
  CHECK(changes[0]["flip"] == true);
  CHECK(changes[0]["same_host"] == true);
  changes = ledger_changes(ledger(before), ledger(blurred));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0]["flip"] == false);  // to inconclusive: not a flip
  const json elsewhere = doc_with_walls({3.0, 3.1, 2.9}, {2.0, 2.1, 1.9}, "other");
  changes = ledger_changes(ledger(before), ledger(elsewhere));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0]["same_host"] == false);
  CHECK(ledger_changes(ledger(before), ledger(before)).empty());
}

TEST_CASE("the catalog in the repository lists C1 to C30, each with sections and a statement", "[claims]") {
  const auto c = load_claim_catalog(test::exe_from_env("WB_CLAIMS"));
  REQUIRE(c.size() == 30);
  for (std::size_t i = 0; i < c.size(); ++i) {
    INFO(c[i].id);
    CHECK(c[i].id == std::string("C").append(std::to_string(i + 1)));
    CHECK_FALSE(c[i].sections.empty());
    CHECK_FALSE(c[i].statement.empty());
    CHECK_FALSE(c[i].to_decide.empty());
  }
  CHECK_THROWS_WITH(load_claim_catalog("/nonexistent/claims.json"), Catch::Contains("/nonexistent/claims.json"));
}
