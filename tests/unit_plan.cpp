#include <catch2/catch.hpp>

#include "runners/plan.hpp"

using nlohmann::json;
using namespace wb::runner;

namespace {

ChapterEntry fake(const std::string& name) {
  return {name, "/bin/true",
          json{{"name", name},
               {"options",
                {{{"name", "--tasks"}, {"param", "tasks"}, {"type", "int"}, {"default", 10}},
                 {{"name", "--mode-of"}, {"param", "mode_of"}, {"type", "choice"}, {"default", "a"}},
                 {{"name", "--seed"}, {"param", "seed"}, {"type", "int"}, {"default", 1}}}}}};
}

}  // namespace

TEST_CASE("trials interleave the variants at every point of every repetition", "[plan]") {
  const auto c = fake("x");
  PlanRequest req;
  req.chapters = {&c};
  req.sweeps = {parse_sweep("tasks=1,2")};
  req.repeat = 3;
  const auto plan = make_plan(req);
  REQUIRE(plan.size() == 12);
  for (std::size_t i = 0; i < plan.size(); ++i) {
    CHECK(plan[i].variant == (i % 2 == 0 ? "sync" : "async"));
    CHECK(plan[i].repetition == static_cast<int>(i / 4));
    CHECK(plan[i].params["tasks"] == (i % 4 < 2 ? 1 : 2));
  }
  CHECK(plan[0].args == std::vector<std::string>{"--tasks", "1"});
}

TEST_CASE("sets apply to every trial, sweeps multiply, and values are typed", "[plan]") {
  const auto c = fake("x");
  PlanRequest req;
  req.chapters = {&c};
  req.sets = {parse_assignment("mode-of=b", "--set")};
  req.sweeps = {parse_sweep("tasks=5,6,7"), parse_sweep("seed=1,2")};
  req.mode = "async";
  const auto plan = make_plan(req);
  REQUIRE(plan.size() == 6);
  for (const auto& t : plan) {
    CHECK(t.params["mode_of"] == "b");
    CHECK(t.params["tasks"].is_number_integer());
  }
  CHECK(plan[1].params["seed"] == 2);
  CHECK(plan[2].params["tasks"] == 6);
}

TEST_CASE("an unknown parameter or a malformed value is refused with a message", "[plan]") {
  const auto c = fake("x");
  PlanRequest req;
  req.chapters = {&c};
  req.sets = {{"taskz", "1"}};
  CHECK_THROWS_WITH(make_plan(req), Catch::Contains("taskz") && Catch::Contains("tasks"));
  req.sets = {{"tasks", "many"}};
  CHECK_THROWS_WITH(make_plan(req), Catch::Contains("integer"));
  CHECK_THROWS(parse_assignment("novalue", "--set"));
  CHECK_THROWS(parse_sweep("tasks=1,,2"));
  req.sets = {};
  req.repeat = 0;
  CHECK_THROWS(make_plan(req));
}

TEST_CASE("the summary of repetitions takes the median of every number", "[plan]") {
  const std::vector<json> reps = {
      {{"params", {{"tasks", 1}}}, {"variant", "sync"}, {"metrics", {{"wall_s", 3.0}, {"ops", 10}}}},
      {{"params", {{"tasks", 1}}}, {"variant", "sync"}, {"metrics", {{"wall_s", 1.0}, {"ops", 30}}}},
      {{"params", {{"tasks", 1}}}, {"variant", "sync"}, {"metrics", {{"wall_s", 2.0}, {"ops", 20}}}},
  };
  const auto m = median_record(reps);
  CHECK(m["metrics"]["wall_s"] == 2.0);
  CHECK(m["metrics"]["ops"] == 20);
  CHECK(m["variant"] == "sync");
  CHECK(median({1, 2, 3, 4}) == 2.5);
}

TEST_CASE("--quick runs a chapter's declared points one by one, less the keys the user set", "[plan]") {
  auto c = fake("x");
  c.description["quick_points"] = {{{"tasks", "1"}, {"mode_of", "a"}}, {{"tasks", "100"}}, {{"tasks", "1"}}};
  c.description["quick"] = {{"mode_of", {"a", "b"}}};
  PlanRequest req;
  req.chapters = {&c};
  req.quick = true;
  auto plan = make_plan(req);
  // The product's key wins over a point's: {tasks 1, mode_of a} becomes {tasks 1}, the same as
  // the third point, so two points are left, each at both mode_of values, both variants.
  REQUIRE(plan.size() == 2 * 2 * 2);
  CHECK(plan[0].params["tasks"] == 1);
  CHECK(plan[4].params["tasks"] == 100);  // after tasks 1 at mode_of a and b, two variants each
  // Each trial keeps the point the plan made: the declared point, then the product's key.
  using Point = std::vector<std::pair<std::string, std::string>>;
  CHECK(plan[0].point == Point{{"tasks", "1"}, {"mode_of", "a"}});
  CHECK(plan[2].point == Point{{"tasks", "1"}, {"mode_of", "b"}});
  CHECK(plan[4].point == Point{{"tasks", "100"}, {"mode_of", "a"}});
  req.sets = {{"tasks", "7"}};  // every point loses "tasks": one point is left
  plan = make_plan(req);
  REQUIRE(plan.size() == 1 * 2 * 2);
  CHECK(plan[0].params["tasks"] == 7);
  CHECK(plan[0].point == Point{{"mode_of", "a"}});  // a --set value is every trial's: not a point
  req.quick = false;
  CHECK(make_plan(req).size() == 2);
}

TEST_CASE("--quick adds the chapter's declared sweep unless the user swept or set that key", "[plan]") {
  auto c = fake("x");
  c.description["quick"] = {{"tasks", {"1", "100"}}, {"mode_of", {"a", "b"}}};
  PlanRequest req;
  req.chapters = {&c};
  req.quick = true;
  CHECK(make_plan(req).size() == 2 * 2 * 2);
  req.sets = {{"mode_of", "b"}};
  CHECK(make_plan(req).size() == 2 * 2);
  req.sweeps = {parse_sweep("tasks=3,4,5")};
  const auto plan = make_plan(req);
  REQUIRE(plan.size() == 3 * 2);
  CHECK(plan[0].params["tasks"] == 3);
}
