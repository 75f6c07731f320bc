// `workbench lab`'s logic on hand-made descriptions and results: answers parsed and checked,
// the points it runs, the measurement an answer is set against, and the judgement.  The command
// itself, on a real chapter and on the fake, is tests/lab.py.
#include <catch2/catch.hpp>

#include "common/chapter.hpp"
#include "runners/lab.hpp"

using nlohmann::json;
using namespace wb::runner;

namespace {

const json number = {{"id", "threads"},   {"kind", "number"}, {"measure", "sync.peak_threads"},
                     {"unit", "threads"}, {"min", 1},         {"max", 1000},
                     {"close", 1.5},      {"claim", "C6"},    {"where", {{"tasks", 16}}}};
const json ratio = {{"id", "speedup"}, {"kind", "number"}, {"measure", "sync.wall_s / async.wall_s"},
                    {"unit", "x"},     {"min", 0.01},      {"max", 100},
                    {"close", 2},      {"claim", "C7"},    {"where", json::object()}};
const json choice = {
    {"id", "first"}, {"kind", "choice"},       {"measure", "lowest wall_s"}, {"choices", {"sync", "async"}},
    {"claim", "C7"}, {"where", json::object()}};

json trial(const std::string& variant, int tasks, double wall, double threads, const std::string& status = "ok") {
  return {{"chapter", "x"},
          {"variant", variant},
          {"status", status},
          {"params", {{"tasks", tasks}, {"seed", 1}}},
          {"metrics", {{"wall_s", wall}, {"peak_threads", threads}}}};
}

const json results = {{"trials",
                       {trial("sync", 16, 0.30, 17), trial("sync", 16, 0.20, 17), trial("sync", 16, 0.10, 18),
                        trial("async", 16, 0.05, 1), trial("async", 16, 0.07, 1), trial("sync", 1, 9.0, 1),
                        trial("async", 16, 0.01, 1, "failed")}}};

}  // namespace

TEST_CASE("answers are ID=VALUE words or lines; malformed or repeated ones are refused", "[lab]") {
  const auto a = parse_answers({"# class of 3", "", "  threads=16  ", "first=async"}, "answers.txt");
  CHECK(a.at("threads") == "16");
  CHECK(a.at("first") == "async");
  CHECK_THROWS_WITH(parse_answers({"threads"}, "--predict"), Catch::Contains("not ID=VALUE"));
  CHECK_THROWS_WITH(parse_answers({"threads="}, "--predict"), Catch::Contains("not ID=VALUE"));
  CHECK_THROWS_WITH(parse_answers({"a=1", "a=2"}, "f"), Catch::Contains("answered twice") && Catch::Contains("line 2"));
}

TEST_CASE("an answer is a number in range or one of the choices", "[lab]") {
  CHECK(accept_answer(number, "16") == json(16.0));
  CHECK(accept_answer(number, "2.5e1") == json(25.0));
  CHECK_THROWS_WITH(accept_answer(number, "sixteen"), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(accept_answer(number, "16 threads"), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(accept_answer(number, "0"), Catch::Contains("outside threads, 1 to 1000"));
  CHECK_THROWS_WITH(accept_answer(number, "nan"), Catch::Contains("not a number"));
  CHECK(accept_answer(choice, "async") == json("async"));
  CHECK_THROWS_WITH(accept_answer(choice, "Async"), Catch::Contains("sync | async"));
}

TEST_CASE("a number is the median of the successful trials at its point; a ratio divides two", "[lab]") {
  const json m = measure_prediction("x", number, results);
  CHECK(m["measured"] == json(17.0));  // the tasks=1 trial is another point
  const json r = measure_prediction("x", ratio, results);
  // sync's median 0.30, 0.20, 0.10, 9.0 -> 0.25; async's 0.05, 0.07 (the failed trial left out) -> 0.06
  CHECK(r["measured"].get<double>() == Approx(0.25 / 0.06));
  CHECK(r["detail"].get<std::string>().find("sync wall_s") != std::string::npos);
  json elsewhere = number;
  elsewhere["where"] = {{"tasks", 4}};
  const json none = measure_prediction("x", elsewhere, results);
  CHECK(none["measured"].is_null());
  CHECK(none["reason"].get<std::string>().find("no successful trial of sync at tasks=4") != std::string::npos);
  CHECK(measure_prediction("other-chapter", number, results)["measured"].is_null());
}

TEST_CASE("a choice is the variant with the lowest (highest) median", "[lab]") {
  CHECK(measure_prediction("x", choice, results)["measured"] == "async");
  json most = choice;
  most["measure"] = "highest wall_s";
  CHECK(measure_prediction("x", most, results)["measured"] == "sync");
}

TEST_CASE("close is within the declared factor either way; a choice is right or wrong", "[lab]") {
  CHECK(judge_prediction(number, 16.0, 17.0)["outcome"] == "close");
  CHECK(judge_prediction(number, 34.0, 17.0)["outcome"] == "far");
  CHECK(judge_prediction(number, 8.0, 17.0)["factor"].get<double>() == Approx(17.0 / 8.0));
  CHECK(judge_prediction(number, 12.0, 17.0)["outcome"] == "close");  // 1.42x under
  CHECK(judge_prediction(number, 11.0, 17.0)["outcome"] == "far");    // 1.55x under
  CHECK(judge_prediction(choice, "async", "async")["outcome"] == "right");
  CHECK(judge_prediction(choice, "sync", "async")["outcome"] == "wrong");
  CHECK(judge_prediction(choice, "sync", nullptr)["outcome"] == "not measured");
}

TEST_CASE("the lab runs each question's point and the quick points where its claims are measured", "[lab]") {
  json d = {{"name", "x"},
            {"options",
             {{{"name", "--tasks"}, {"param", "tasks"}, {"type", "int"}, {"default", 10}},
              {{"name", "--cache"}, {"param", "cache"}, {"type", "choice"}, {"default", "warm"}},
              {{"name", "--seed"}, {"param", "seed"}, {"type", "int"}, {"default", 1}}}},
            {"quick_points",
             {{{"tasks", "1"}, {"cache", "cold"}},
              {{"tasks", "16"}, {"cache", "cold"}},
              {{"tasks", "16"}, {"cache", "warm"}},
              {{"tasks", "64"}}}},
            {"expectations",
             {{{"claim", "C6"},
               {"where", {{"cache", "cold"}}},
               {"lhs_where", {{"tasks", 16}}},
               {"rhs_where", {{"tasks", 1}}}},
              {{"claim", "C9"}, {"where", {{"tasks", 64}}}}}},
            {"predictions", {number}}};
  const auto points = lab_points(d);
  // tasks=16 (the question's), then cache=cold at 1 and 16 (C6's sides); not cache=warm
  // tasks=16, not tasks=64 (C9 is not asked about).  cold tasks=16 differs from the question's
  // point {tasks: 16} (its cache is the default, warm): both run.
  REQUIRE(points.size() == 3);
  CHECK(points[0] == std::vector<std::pair<std::string, std::string>>{{"tasks", "16"}});
  CHECK(points[1] == std::vector<std::pair<std::string, std::string>>{{"cache", "cold"}, {"tasks", "1"}});
  CHECK(points[2] == std::vector<std::pair<std::string, std::string>>{{"cache", "cold"}, {"tasks", "16"}});
  // A question at a quick point's exact parameters runs it once.
  d["predictions"][0]["where"] = {{"tasks", 16}, {"cache", "warm"}};
  CHECK(lab_points(d).size() == 3);
  // A declaration with no point (null, as older descriptions have it) is measured everywhere.
  d["expectations"].push_back({{"claim", "C6"}, {"where", nullptr}, {"lhs_where", nullptr}});
  CHECK(lab_points(d).size() == 4);
}

TEST_CASE("a chapter's prediction that names no variant, has no range or no explaining line is a bug", "[lab]") {
  wb::Chapter c({.name = "x", .title = "t", .sections = {}, .claims = {"C1"}, .ops_unit = "op"});
  const wb::SourceLine line{"chapters/x/sync.cpp", "marker", "says"};
  const wb::Prediction good{.id = "threads",
                            .question = "q",
                            .claim = "C1",
                            .measure = "sync.peak_threads / async.peak_threads",
                            .unit = "x",
                            .min = 0.1,
                            .max = 10,
                            .explain = {line}};
  CHECK_NOTHROW(c.prediction(good));
  CHECK_THROWS_WITH(c.prediction(good), Catch::Contains("declared twice"));
  auto bad = good;
  bad.id = "other";
  bad.measure = "blocking.peak_threads";
  CHECK_THROWS_WITH(c.prediction(bad), Catch::Contains("not variant.metric"));
  bad.measure = "sync.wall_s / ";
  CHECK_THROWS_WITH(c.prediction(bad), Catch::Contains("not variant.metric"));
  bad = good;
  bad.id = "other";
  bad.max = bad.min;
  CHECK_THROWS_WITH(c.prediction(bad), Catch::Contains("range"));
  bad = good;
  bad.id = "Other";
  CHECK_THROWS_WITH(c.prediction(bad), Catch::Contains("lower case"));
  bad = good;
  bad.id = "other";
  bad.explain = {};
  CHECK_THROWS_WITH(c.prediction(bad), Catch::Contains("no line explains"));
  wb::Prediction pick{.id = "first",
                      .question = "q",
                      .claim = "C1",
                      .measure = "fastest wall_s",
                      .choices = {"sync", "async"},
                      .explain = {line}};
  CHECK_THROWS_WITH(c.prediction(pick), Catch::Contains("lowest METRIC"));
  pick.measure = "lowest wall_s";
  pick.choices = {"sync", "threads"};
  CHECK_THROWS_WITH(c.prediction(pick), Catch::Contains("threads is no declared variant"));
  pick.choices = {"sync", "async"};
  CHECK_NOTHROW(c.prediction(pick));
  CHECK(c.describe()["predictions"].size() == 2);
  CHECK(c.describe()["predictions"][1]["kind"] == "choice");
}
