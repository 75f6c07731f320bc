// A stand-in chapter for the runner's tests: it honours the chapter contract but can be told to
// hang, crash or fail, so the watchdog, failure records and atomic writes can be tested without
// waiting on a real scenario.  With WB_FAKE_VARIANTS=a,b,c (and WB_FAKE_BASELINE=b) it declares
// those variants instead of sync and async, for the tests of named variants.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/chapter.hpp"

namespace {

struct Params {
  std::int64_t ops = 5;
  std::int64_t samples = 0;  // values of the series "depth" (0, 1, ..., 49, 0, 1, ...)
  // ok | hang | crash | fail; or, after an ok record: truncated (cut the record short),
  // not-a-record (replace it with valid JSON that is no record), exit-3, abort
  std::string behaviour = "ok";
  std::string only_variant = "all";  // the behaviour applies to this variant; the others are ok
};

std::vector<wb::VariantInfo> variants_from_env() {
  std::vector<wb::VariantInfo> out;
  const char* list = std::getenv("WB_FAKE_VARIANTS");
  std::stringstream in(list ? list : "");
  for (std::string name; std::getline(in, name, ',');)
    out.push_back({name, name.starts_with("async") ? wb::Model::coroutines : wb::Model::threads,
                   "variant " + name + " of the fake"});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Params params;
  const char* baseline = std::getenv("WB_FAKE_BASELINE");
  wb::Chapter chapter({.name = "fake",
                       .title = "a chapter for testing the runner",
                       .sections = {},
                       .claims = {},
                       .ops_unit = "op",
                       .variants = variants_from_env(),
                       .baseline = baseline ? baseline : ""});
  const auto described = chapter.describe();
  std::vector<std::string> choices = {"all"};
  for (const auto& v : described["variants"]) choices.push_back(v.get<std::string>());
  chapter.knob("--ops", params.ops, "operations", 0, 1'000'000, "ops");
  chapter.knob("--samples", params.samples, "values of the series \"depth\" to record", 0, 1'000'000, "samples");
  chapter.knob("--behaviour", params.behaviour, "what the variant does",
               {"ok", "hang", "crash", "fail", "truncated", "not-a-record", "exit-3", "abort"});
  chapter.knob("--only-variant", params.only_variant, "which variant misbehaves", choices);
  if (std::getenv("WB_FAKE_VARIANTS")) {
    chapter.invariant({.id = "first-on-one-thread",
                       .claim = "C4",
                       .lhs = choices[1] + ".peak_threads",
                       .op = "<=",
                       .rhs = "64",
                       .why = "the fake starts no thread"});
  }
  if (!std::getenv("WB_FAKE_VARIANTS")) {  // for tests/lab.py
    chapter.prediction(
        {.id = "ops",
         .question = "how many operations will sync report at --ops 7?",
         .claim = "C3",
         .where = {{"ops", 7}},
         .measure = "sync.ops",
         .unit = "ops",
         .min = 0,
         .max = 1'000'000,
         .close = 1.5,
         .explain = {{"tests/fake_chapter.cpp", "run.latency().record(1000 + i)", "one per operation"}}});
    chapter.prediction(
        {.id = "more-ops",
         .question = "which reports more operations? (a tie: the first by name)",
         .claim = "C3",
         .measure = "highest ops",
         .choices = {"sync", "async"},
         .explain = {{"tests/fake_chapter.cpp", "return wb::Outcome{static_cast", "the ops it returns"}}});
  }
  if (auto done = chapter.parse(argc, argv)) return *done;
  const int code = chapter.run([&](const wb::Variant& variant, wb::Run& run) {
    const bool misbehave = params.only_variant == "all" || params.only_variant == variant.name();
    const std::string behaviour = misbehave ? params.behaviour : "ok";
    run.measure([&] {
      // No death signal of its own: that a hung trial dies with its runner is the runner's doing
      // (common/process.cpp), and tests/early_end.py checks it.
      if (behaviour == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
      if (behaviour == "crash") std::abort();  // SIGABRT: the sanitizers catch SIGSEGV and exit 1 instead
      if (behaviour == "fail") throw std::runtime_error("told to fail");
      for (std::int64_t i = 0; i < params.ops; ++i) run.latency().record(1000 + i);
      for (std::int64_t i = 0; i < params.samples; ++i) run.sample("depth", static_cast<double>(i % 50));
      return wb::Outcome{static_cast<std::uint64_t>(params.ops), "digest-" + std::to_string(params.ops)};
    });
  });
  // Misbehaving after an ok record was written (the runner must not believe the record).  One
  // variant per process, as the runner runs them.
  std::string json_path;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--json") json_path = argv[i + 1];
  }
  std::string mode;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--mode") mode = argv[i + 1];
  }
  const bool misbehave = params.only_variant == "all" || params.only_variant == mode;
  if (!misbehave || json_path.empty() || json_path == "-") return code;
  if (params.behaviour == "truncated" || params.behaviour == "not-a-record") {
    std::string text;
    {
      std::ifstream in(json_path);
      std::getline(in, text);
    }
    std::ofstream out(json_path, std::ios::trunc);
    out << (params.behaviour == "truncated" ? text.substr(0, text.size() / 2) : std::string("[1, 2, 3]")) << "\n";
  }
  if (params.behaviour == "exit-3") return 3;
  if (params.behaviour == "abort") std::abort();
  return code;
}
