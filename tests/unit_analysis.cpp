// check, compare, export and merge on hand-made documents (tests/fixtures/, written by
// make_fixtures.py) and on small ones built here.
#include <cmath>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "common/files.hpp"
#include "common/format.hpp"
#include "common/record.hpp"
#include "runners/check.hpp"
#include "runners/compare.hpp"
#include "runners/interop.hpp"
#include "runners/metrics.hpp"
#include "runners/plan.hpp"
#include "runners/statistics.hpp"
#include "tests/support.hpp"

using nlohmann::json;
using namespace wb::runner;

namespace {

json fixture(const std::string& name) { return wb::read_results(test::exe_from_env("WB_FIXTURES") + "/" + name); }

json trial(const std::string& variant, json params, double wall, std::int64_t threads,
           const std::string& status = "ok") {
  return {{"chapter", "c"},
          {"variant", variant},
          {"params", std::move(params)},
          {"status", status},
          {"metrics",
           {{"wall_s", wall},
            {"cpu_user_s", 0.25},
            {"cpu_sys_s", 0.5},
            {"peak_threads", threads},
            {"latency_us", {{"p99", 7.0}}}}},
          {"counters", {{"lost", 0}}},
          {"result_digest", status == "ok" ? "same" : ""}};
}

json doc_of(json trials) {
  return {{"schema", "workbench.results/1"}, {"context", {{"host", "h"}}}, {"trials", std::move(trials)}};
}

json description_with(json expectations) {
  return {{"c", {{"name", "c"}, {"options", json::array()}, {"expectations", std::move(expectations)}}}};
}

json expectation(const std::string& id, const std::string& lhs, const std::string& op, double factor,
                 const std::string& rhs, json where = json::object(), json lhs_where = json::object(),
                 json rhs_where = json::object()) {
  return {{"id", id},
          {"lhs", lhs},
          {"op", op},
          {"factor", factor},
          {"rhs", rhs},
          {"where", where},
          {"lhs_where", lhs_where},
          {"rhs_where", rhs_where}};
}

}  // namespace

TEST_CASE("metrics are found by their short names, counters by theirs", "[analysis]") {
  const auto t = trial("sync", json::object(), 1.5, 9);
  CHECK(metric_number(t, "wall_s") == 1.5);
  CHECK(metric_number(t, "cpu_s") == 0.75);
  CHECK(metric_number(t, "latency_us.p99") == 7.0);
  CHECK(metric_number(t, "p99_us") == 7.0);
  CHECK(metric_number(t, "lost") == 0.0);
  CHECK(metric_number(t, "counters.lost") == 0.0);
  CHECK_FALSE(metric_number(t, "no_such_metric"));
  CHECK(metric_text(t, "result_digest") == "same");
  CHECK(better_direction("throughput_ops_s") == 1);
  CHECK(better_direction("latency_us.p50") == -1);
  CHECK(better_direction("lost") == 0);
}

TEST_CASE("metric names and number formats read as the Python scripts read them", "[analysis]") {
  // tests/python_model.py checks the same file against scripts/wbmodel.py.
  const auto path = test::exe_from_env("WB_FIXTURES") + "/shared-vocabulary.json";
  const json doc = json::parse(wb::read_text_file(path));
  for (const auto& [name, value] : doc["numbers"].get<std::vector<std::pair<std::string, json>>>()) {
    INFO(name);
    const auto got = metric_number(doc["trial"], name);
    if (value.is_null()) {
      CHECK_FALSE(got);
    } else {
      REQUIRE(got);
      CHECK(*got == value.get<double>());
    }
  }
  for (const auto& [seconds, text] : doc["seconds"].get<std::vector<std::pair<double, std::string>>>()) {
    CHECK(wb::human_seconds(seconds) == text);
  }
  for (const auto& [kib, text] : doc["kib"].get<std::vector<std::pair<double, std::string>>>()) {
    CHECK(wb::human_kib(kib) == text);
  }
  const auto& b = doc["bootstrap"];
  std::vector<double> ratios;
  for (const auto& [s, a] : resampled_medians(b["sync"], b["async"], 2000, 0xc1a1)) ratios.push_back(a / s);
  const auto [low, high] = central_interval(ratios, 0.95);
  CHECK(low == Approx(b["interval"][0].get<double>()));
  CHECK(high == Approx(b["interval"][1].get<double>()));
}

TEST_CASE("the exact rank test gives the textbook p-values for small samples", "[analysis]") {
  CHECK(mann_whitney_p({1, 2, 3}, {4, 5, 6}) == Approx(0.1));
  CHECK(mann_whitney_p({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}) == Approx(2.0 / 252));
  CHECK(mann_whitney_p({1, 3, 5}, {2, 4, 6}) == Approx(0.7));
  CHECK(mann_whitney_p({}, {1}) == 1.0);
  CHECK(min_rank_p(3, 3) == Approx(0.1));
  CHECK(min_rank_p(5, 5) == Approx(2.0 / 252));
}

TEST_CASE("with ties the rank test uses the corrected normal approximation", "[analysis]") {
  // a = 1..5, b = 3..7: U = 4.5, mean 12.5, tie-corrected variance 22.5, continuity 0.5.
  const double z = (12.5 - 4.5 - 0.5) / std::sqrt(22.5);
  CHECK(mann_whitney_p({1, 2, 3, 4, 5}, {3, 4, 5, 6, 7}) == Approx(std::erfc(z / std::sqrt(2.0))));
  CHECK(mann_whitney_p({2, 2, 2}, {2, 2, 2}) == 1.0);
}

TEST_CASE("the bootstrap interval excludes zero only for a clear change", "[analysis]") {
  const auto same = bootstrap_change_ci({10, 10, 10}, {10, 10, 10});
  CHECK(same.first == 0.0);
  CHECK(same.second == 0.0);
  const auto slower = bootstrap_change_ci({10, 10.2, 9.9}, {14, 14.1, 13.8});
  CHECK(slower.first > 0.3);
  const auto overlapping = bootstrap_change_ci({10, 11, 9}, {10.5, 9.5, 11.5});
  CHECK(overlapping.first < 0);
  CHECK(overlapping.second > 0);
}

TEST_CASE("an expectation holds, fails or lacks trials, on medians of the successful repetitions", "[analysis]") {
  const json doc = doc_of({trial("sync", {{"n", 1}}, 1.0, 100), trial("async", {{"n", 1}}, 1.1, 2),
                           trial("async", {{"n", 1}}, 9.0, 90, "failed"), trial("async", {{"n", 1}}, 1.2, 3)});
  SECTION("pass, with the margin") {
    const auto r = check_expectations(
        doc, description_with({expectation("t", "async.peak_threads", "<=", 0.25, "sync.peak_threads")}));
    REQUIRE(r.verdicts.size() == 1);
    CHECK(r.verdicts[0].status == "pass");
    CHECK(r.verdicts[0].margin == Approx(25.0 / 2.5));  // median of 2 and 3; the failed 90 is ignored
    CHECK(r.exit_code() == 0);
  }
  SECTION("fail") {
    const auto r =
        check_expectations(doc, description_with({expectation("w", "async.wall_s", "<", 1.0, "sync.wall_s")}));
    CHECK(r.verdicts.at(0).status == "fail");
    CHECK(r.exit_code() == 1);
  }
  SECTION("a constant on the right, text equality") {
    const auto r = check_expectations(
        doc, description_with({expectation("k", "async.lost", "<=", 1.0, "0"),
                               expectation("d", "async.result_digest", "==", 1.0, "sync.result_digest")}));
    CHECK(r.verdicts.at(0).status == "pass");
    CHECK(r.verdicts.at(1).status == "pass");
  }
  SECTION("missing: no trial at the point, or only failed ones") {
    auto r = check_expectations(
        doc, description_with({expectation("m", "async.wall_s", "<", 1.0, "sync.wall_s", {{"n", 2}})}));
    CHECK(r.verdicts.at(0).status == "missing");
    CHECK(r.exit_code() == 3);
    const json failed_only =
        doc_of({trial("sync", {{"n", 1}}, 1.0, 100), trial("async", {{"n", 1}}, 1.0, 2, "failed")});
    r = check_expectations(failed_only, description_with({expectation("m", "async.wall_s", "<", 1.0, "sync.wall_s")}));
    CHECK(r.verdicts.at(0).status == "missing");
  }
  SECTION("a chapter without trials is not run, not missing") {
    json descs = description_with({expectation("t", "async.peak_threads", "<=", 0.25, "sync.peak_threads")});
    descs["other"] = {{"name", "other"}, {"expectations", {expectation("x", "async.wall_s", "<", 1.0, "sync.wall_s")}}};
    const auto r = check_expectations(doc, descs);
    CHECK(r.not_run == std::vector<std::string>{"other"});
    CHECK(r.exit_code() == 0);
  }
}

TEST_CASE("one variant at two points pairs each lhs point with its rhs_where twin", "[analysis]") {
  const json doc =
      doc_of({trial("async", {{"n", 1}, {"k", "a"}}, 10.0, 1), trial("async", {{"n", 16}, {"k", "a"}}, 2.0, 1),
              trial("async", {{"n", 1}, {"k", "b"}}, 10.0, 1), trial("async", {{"n", 16}, {"k", "b"}}, 9.0, 1)});
  const auto r = check_expectations(doc, description_with({expectation("o", "async.wall_s", "<", 0.85, "async.wall_s",
                                                                       json::object(), {{"n", 16}}, {{"n", 1}})}));
  REQUIRE(r.verdicts.size() == 2);
  CHECK(r.verdicts[0].point["k"] == "a");
  CHECK(r.verdicts[0].status == "pass");
  CHECK(r.verdicts[1].point["k"] == "b");
  CHECK(r.verdicts[1].status == "fail");
}

TEST_CASE("check on the fixtures: the base holds, the broken one fails, the incomplete one lacks trials",
          "[analysis]") {
  CHECK(check_expectations(fixture("base.json"), chapter_descriptions(fixture("base.json"))).exit_code() == 0);
  CHECK(check_expectations(fixture("broken.json"), chapter_descriptions(fixture("broken.json"))).exit_code() == 1);
  CHECK(check_expectations(fixture("incomplete.json"), chapter_descriptions(fixture("incomplete.json"))).exit_code() ==
        3);
}

TEST_CASE("compare flags a real regression and ignores noise", "[analysis]") {
  const CompareOptions opts;
  const auto noisy = compare_results(fixture("base.json"), fixture("noise.json"), opts);
  CHECK_FALSE(noisy.changes.empty());
  CHECK_FALSE(noisy.regression());
  CHECK(noisy.unmatched.empty());

  const auto worse = compare_results(fixture("base.json"), fixture("regression.json"), opts);
  CHECK(worse.regression());
  int slowed_seen = 0, unchanged_seen = 0;
  for (const auto& c : worse.changes) {
    const bool slowed = c.chapter == "demo" && c.variant == "async" && c.params["n"] == 1000 && c.metric == "wall_s";
    if (slowed) {
      ++slowed_seen;
      CHECK(c.verdict == "worse");
      CHECK(c.test == "U");
      CHECK(c.p < 0.05);
      CHECK(c.change == Approx(0.4));
    }
    if (c.params.value("n", 0) == 10) {
      ++unchanged_seen;
      CHECK(c.verdict == "same");
    }
  }
  // The branches above were taken: the fixture has the slowed row and the unchanged ones.
  CHECK(slowed_seen == 1);
  CHECK(unchanged_seen > 0);
}

TEST_CASE("with three repetitions a side compare judges by the bootstrap interval, and says so", "[analysis]") {
  auto series = [](double scale, double a, double b, double c) {
    return doc_of({trial("sync", {{"n", 1}}, a * scale, 1), trial("sync", {{"n", 1}}, b * scale, 1),
                   trial("sync", {{"n", 1}}, c * scale, 1)});
  };
  CompareOptions opts;
  opts.metrics = {"wall_s"};
  const auto slower = compare_results(series(1.0, 1.0, 1.02, 0.99), series(1.5, 1.0, 1.02, 0.99), opts);
  REQUIRE(slower.changes.size() == 1);
  CHECK(slower.changes[0].test == "bootstrap");
  CHECK(slower.changes[0].verdict == "worse");
  const auto noise = compare_results(series(1.0, 1.0, 1.02, 0.99), series(1.0, 1.01, 0.98, 1.0), opts);
  CHECK(noise.changes.at(0).verdict == "same");
  // Significant-looking but below the threshold: still noise.
  const auto small = compare_results(series(1.0, 1.0, 1.001, 0.999), series(1.03, 1.0, 1.001, 0.999), opts);
  CHECK(small.changes.at(0).verdict == "same");
}

TEST_CASE("compare reports trials that only one file has", "[analysis]") {
  const auto r = compare_results(fixture("base.json"), fixture("incomplete.json"), CompareOptions{});
  bool only_old = false;
  for (const auto& u : r.unmatched) only_old = only_old || u.find("only in OLD") != std::string::npos;
  CHECK(only_old);
}

TEST_CASE("the Google Benchmark export names trials by their non-default parameters and adds aggregates",
          "[analysis]") {
  const json g = export_gbench(fixture("incomplete.json"));
  REQUIRE(g.contains("context"));
  CHECK(g["context"]["num_cpus"] == 2);
  int iterations = 0, medians = 0, errors = 0;
  for (const auto& b : g["benchmarks"]) {
    if (b["run_type"] == "iteration") ++iterations;
    if (b.value("aggregate_name", "") == "median") ++medians;
    if (b.value("error_occurred", false)) ++errors;
    CHECK(b["name"].get<std::string>().rfind("demo", 0) == 0);
    CHECK(b["time_unit"] == "ms");
  }
  CHECK(iterations == static_cast<int>(fixture("incomplete.json")["trials"].size()));
  CHECK(errors == 1);
  CHECK(medians == 6);  // demo n=10 x 2 variants, demo2 x 2 policies x 2 variants
  bool named = false;
  for (const auto& b : g["benchmarks"]) named = named || b["name"] == "demo2/async/policy:first";
  CHECK(named);
}

TEST_CASE("merge keeps each trial's host and source", "[analysis]") {
  const json a = fixture("base.json"), b = fixture("other-host.json");
  const Merged merged = merge_results({a, b}, {"a.json", "b.json"});
  const json& m = merged.doc;
  CHECK(m["trials"].size() == a["trials"].size() + b["trials"].size());
  CHECK(m["sources"].size() == 2);
  CHECK(m["trials"].front()["host"] == "fixture-a");
  CHECK(m["trials"].back()["host"] == "fixture-b");
  CHECK(m["trials"].back()["source"] == 1);
  CHECK(m["context"]["host"] == "merged: fixture-a, fixture-b");
  // Merging a merged file again keeps the sources flat.
  const json again = merge_results({m, fixture("incomplete.json")}, {"m.json", "c.json"}).doc;
  CHECK(again["sources"].size() == 3);
  CHECK(again["trials"].back()["source"] == 2);
  CHECK_THROWS_AS(merge_results({}, {}), std::invalid_argument);
  // Expectations are ratios within one machine's run: a merged file is checked host by host.
  const auto verdicts = check_expectations(m, chapter_descriptions(m)).verdicts;
  std::set<std::string> hosts;
  for (const auto& v : verdicts) hosts.insert(v.host);
  CHECK(hosts == std::set<std::string>{"fixture-a", "fixture-b"});
}

TEST_CASE("merge tells a class's machines apart by their labels, and warns where figures would mislead", "[analysis]") {
  // Three students: two on VMs with the same host name, one with a label of its own.
  json alice = fixture("base.json"), bob = fixture("base.json"), carol = fixture("other-host.json");
  carol["context"]["label"] = "carol";
  auto warnings_with = [](const Merged& m, const std::string& words) {
    return std::count_if(m.warnings.begin(), m.warnings.end(),
                         [&](const std::string& w) { return w.find(words) != std::string::npos; });
  };
  const Merged pooled = merge_results({alice, bob, carol}, {"alice.json", "bob.json", "carol.json"});
  CHECK(pooled.doc["context"]["host"] == "merged: fixture-a, carol");
  CHECK(warnings_with(pooled, "alice.json and bob.json share the label 'fixture-a'") == 1);
  CHECK(warnings_with(pooled, "different commits") == 0);
  // From the file names: three machines, no warning about labels.
  const Merged named =
      merge_results({alice, bob, carol}, {"class/alice.json", "class/bob.json", "class/carol.json"}, true);
  CHECK(named.doc["context"]["host"] == "merged: alice, bob, carol");
  CHECK(named.doc["trials"].back()["host"] == "carol");
  CHECK(named.doc["sources"][1]["label"] == "bob");
  CHECK(warnings_with(named, "share the label") == 0);
  const auto verdicts = check_expectations(named.doc, chapter_descriptions(named.doc)).verdicts;
  std::set<std::string> hosts;
  for (const auto& v : verdicts) hosts.insert(v.host);
  CHECK(hosts == std::set<std::string>{"alice", "bob", "carol"});
  // Another commit, another description of a chapter: said, and the first file's kept.
  bob["context"]["git"] = "0123456";
  const std::string chapter = alice["chapters"].begin().key();
  bob["chapters"][chapter]["title"] = "another title";
  const Merged mixed = merge_results({alice, bob}, {"alice.json", "bob.json"}, true);
  CHECK(warnings_with(mixed, "different commits") == 1);
  CHECK(warnings_with(mixed, "chapter " + chapter + " is described differently in alice.json and bob.json") == 1);
  CHECK(mixed.doc["chapters"][chapter]["title"] == alice["chapters"][chapter]["title"]);
}

TEST_CASE("export --format bmf: a benchmark per point and variant, each measure the median of its repetitions",
          "[analysis]") {
  const json results = fixture("base.json");
  const json bmf = json::parse(export_bmf(results).dump());  // read back as a dashboard would
  REQUIRE(bmf.is_object());
  REQUIRE(!bmf.empty());
  for (const auto& [name, measures] : bmf.items()) {
    INFO(name);
    REQUIRE(measures.contains("wall-time"));
    for (const auto& [slug, m] : measures.items()) {
      INFO(slug);
      REQUIRE(m.at("value").is_number());  // BMF's one required field
      CHECK(m.at("lower_value").get<double>() <= m.at("value").get<double>());
      CHECK(m.at("value").get<double>() <= m.at("upper_value").get<double>());
    }
  }
  // One benchmark recomputed from the file: its wall time (ns) is the median of its ok trials'.
  const std::string name = bmf.begin().key();
  std::vector<double> walls;
  for (const auto& t : results["trials"]) {
    if (t["status"] != "ok") continue;
    json one = results;  // the trial alone: the name its benchmark gets
    one["trials"] = json::array({t});
    if (export_bmf(one).contains(name)) walls.push_back(t["metrics"]["wall_s"].get<double>() * 1e9);
  }
  REQUIRE(!walls.empty());
  CHECK(bmf[name]["wall-time"]["value"].get<double>() == Approx(median(walls)));
}

TEST_CASE("export --format hgrm: a trial's percentile distribution reads back to the record's percentiles",
          "[analysis]") {
  wb::Histogram h;
  for (std::int64_t i = 1; i <= 997; ++i) h.record(i * 1000 + (i * 7919) % 5000);  // 1 us to 1 ms, uneven
  wb::TrialRecord r;
  r.chapter = "demo";
  r.variant = "sync";
  r.status = "ok";
  r.metrics.latency = h.summary();
  const json trial = r;
  const std::string hgrm = export_hgrm(trial);
  // Parse the table as HdrHistogram's readers do: value, percentile, total count[, 1/(1-p)].
  std::istringstream in(hgrm);
  std::string line;
  std::vector<std::pair<double, double>> rows;  // percentile, value (us)
  std::uint64_t last_count = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.find("Value") != std::string::npos) continue;
    std::istringstream fields(line);
    double value = 0, percentile = 0;
    std::uint64_t count = 0;
    REQUIRE(static_cast<bool>(fields >> value >> percentile >> count));
    if (!rows.empty()) {
      CHECK(percentile >= rows.back().first);
      CHECK(value >= rows.back().second);
      CHECK(count >= last_count);
    }
    rows.emplace_back(percentile, value);
    last_count = count;
  }
  REQUIRE(rows.size() > 20);
  CHECK(rows.back().first == 1.0);
  CHECK(last_count == 997);
  CHECK(rows.back().second == Approx(trial["metrics"]["latency_us"]["max"].get<double>()).margin(0.0005));
  auto at = [&](double p) {
    for (const auto& [percentile, value] : rows)
      if (std::abs(percentile - p) < 1e-12) return value;
    FAIL("no row at percentile " << p);
    return 0.0;
  };
  for (const auto& [p, field] :
       std::vector<std::pair<double, const char*>>{{0.5, "p50"}, {0.9, "p90"}, {0.99, "p99"}, {0.999, "p999"}}) {
    INFO(field);
    CHECK(at(p) == Approx(trial["metrics"]["latency_us"][field].get<double>()).margin(0.0005));
  }
  CHECK_THAT(hgrm, Catch::Contains("#[Max     ="));
  CHECK_THAT(hgrm, Catch::Contains("Total count    =          997]"));
  // A trial without latency (a chapter that times units): refused, not an empty table.
  wb::TrialRecord none;
  CHECK_THROWS_AS(export_hgrm(json(none)), std::invalid_argument);
}
