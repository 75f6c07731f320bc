// A stand-in chapter for the runner's tests: it honours the chapter contract but can be told to
// hang, crash or fail, so the watchdog, failure records and atomic writes can be tested without
// waiting on a real scenario.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include <sys/prctl.h>

#include "common/chapter.hpp"

namespace {

struct Params {
  std::int64_t ops = 5;
  std::string behaviour = "ok";       // ok | hang | crash | fail
  std::string only_variant = "both";  // the behaviour applies to this variant; the other is ok
};

}  // namespace

int main(int argc, char** argv) {
  Params params;
  wb::Chapter chapter(
      {.name = "fake", .title = "a chapter for testing the runner", .sections = {}, .claims = {}, .ops_unit = "op"});
  chapter.knob("--ops", params.ops, "operations", 0, 1'000'000, "ops");
  chapter.knob("--behaviour", params.behaviour, "what the variant does", {"ok", "hang", "crash", "fail"});
  chapter.knob("--only-variant", params.only_variant, "which variant misbehaves", {"both", "sync", "async"});
  if (auto done = chapter.parse(argc, argv)) return *done;
  return chapter.run([&](wb::Variant variant, wb::Run& run) {
    const bool misbehave = params.only_variant == "both" || params.only_variant == wb::to_string(variant);
    const std::string behaviour = misbehave ? params.behaviour : "ok";
    run.measure([&] {
      if (behaviour == "hang") {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the runner that started us
        std::this_thread::sleep_for(std::chrono::hours(1));
      }
      if (behaviour == "crash") std::abort();  // SIGABRT: the sanitizers catch SIGSEGV and exit 1 instead
      if (behaviour == "fail") throw std::runtime_error("told to fail");
      for (std::int64_t i = 0; i < params.ops; ++i) run.latency().record(1000 + i);
      return wb::Outcome{static_cast<std::uint64_t>(params.ops), "digest-" + std::to_string(params.ops)};
    });
  });
}
