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
  CHECK(v.ratio_low <= v.ratio);
  CHECK(v.ratio_high >= v.ratio);
  CHECK(v.ratio_high < 1.0);
  CHECK(v.n_lhs == 3);
  CHECK(v.n_rhs == 3);
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

TEST_CASE("verdicts combine: the same everywhere gives it, different ones give mixed", "[claims]") {
  CHECK(combine_verdicts({"holds", "holds"}) == "holds");
  CHECK(combine_verdicts({"does not hold", "", "does not hold"}) == "does not hold");
  CHECK(combine_verdicts({"holds", "inconclusive"}) == "mixed");
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
  CHECK(ledger["claims"][1]["verdict"] == "holds");
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

TEST_CASE("the catalog in the repository lists C1 to C28, each with sections and a statement", "[claims]") {
  const auto c = load_claim_catalog(test::exe_from_env("WB_CLAIMS"));
  REQUIRE(c.size() == 28);
  for (std::size_t i = 0; i < c.size(); ++i) {
    INFO(c[i].id);
    CHECK(c[i].id == std::string("C").append(std::to_string(i + 1)));
    CHECK_FALSE(c[i].sections.empty());
    CHECK_FALSE(c[i].statement.empty());
    CHECK_FALSE(c[i].to_decide.empty());
  }
  CHECK_THROWS_WITH(load_claim_catalog("/nonexistent/claims.json"), Catch::Contains("/nonexistent/claims.json"));
}
