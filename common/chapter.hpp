// The harness every chapter executable uses: the standard options of every chapter (--mode,
// --json, --seed, --narrate, --trace, --describe), the scenario's own knobs with units and
// ranges, --describe, --mode all (each variant in a child process of its own), the measured
// region, and the results it prints.
//
// Every chapter's main() has one shape (chapters/README.md, "main()"; tests/main_shape.py holds
// each chapter to it):
//
//   int main(int argc, char** argv) {
//     topic::Params params;
//     wb::Chapter chapter = topic::make_chapter(params);          // knobs bound to params
//     if (auto done = chapter.parse(argc, argv)) return *done;   // help, --describe, bad usage
//     return chapter.run([&](const wb::Variant& variant, wb::Run& run) {
//       topic::Workload workload(params, run);  // set-up: not measured
//       run.measure([&] {
//         return variant.blocking() ? topic::run_sync(params, workload, run) : topic::run_async(params, workload, run);
//       });
//       workload.finish(run);  // after the measured region: not measured
//     });
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/histogram.hpp"
#include "common/record.hpp"
#include "common/resources.hpp"
#include "common/trace.hpp"
#include "common/usage_error.hpp"
#include "common/workload.hpp"

namespace wb {

// One implementation of the scenario.  Most chapters have two, "sync" (blocking threads) and
// "async" (Asio coroutines); a chapter that contrasts more ways declares its own list
// (ChapterInfo::variants), and every tool downstream — the runner, check, claims, compare, the
// charts and the report — takes the list from the chapter's --describe.
// The two models every variant belongs to: blocking calls on threads (sync.cpp, run_sync) or
// Asio coroutines (async.cpp, run_async).
enum class Model { threads, coroutines };
const char* to_string(Model m);

struct VariantInfo {
  std::string name;     // the --mode value and the records' "variant": "sync", "async-offload"
  Model model;          // which side of the twin it is on
  std::string summary;  // one line: what this implementation does
  // Its process may end early by design (12's thread-terminate aborts): its times measure no
  // speed, and the summaries and charts show no ratio for it.
  bool ends_early = false;
};

// The variant a process runs, as the chapter's body sees it.
class Variant {
 public:
  Variant(std::string name, int index, std::vector<std::string> declared, Model model = Model::threads)
      : name_(std::move(name)), index_(index), declared_(std::move(declared)), model_(model) {}
  const std::string& name() const { return name_; }
  int index() const { return index_; }  // its place in the chapter's list
  Model model() const { return model_; }
  // Blocking threads (run_sync) rather than coroutines (run_async): main()'s one fork.
  bool blocking() const { return model_ == Model::threads; }
  // Whether this is the variant called `name`.  A name the chapter never declared is a bug in
  // the chapter, not a "no": std::logic_error.
  bool is(std::string_view name) const;

 private:
  std::string name_;
  int index_;
  std::vector<std::string> declared_;
  Model model_;
};
inline const std::string& to_string(const Variant& v) { return v.name(); }

// What a variant returns: how many operations it completed and a digest of the observable
// result, which must be the same for both variants given the same inputs (claim C3).
struct Outcome {
  std::uint64_t ops = 0;
  std::string digest;
};

// One variant run in this process.  The variant records per-operation latency and its own
// counters into it; measure() wraps the region whose cost is reported.
class Run {
 public:
  Run(Variant v, TraceConfig trace) : variant_(std::move(v)), trace_(std::move(trace)) {}
  const Variant& variant() const { return variant_; }
  std::int64_t seed() const { return seed_; }  // --seed: every random choice of the workload
  // This run's knobs and --seed as command-line words, the helper process's option left out:
  // for a chapter that starts itself again as its helper (Chapter::helper_process), as
  // self_executable(), args(), then that option with its value.
  const std::vector<std::string>& args() const { return args_; }
  Histogram& latency() { return latency_; }
  void counter(const std::string& name, double value) { record_.counters[name] = value; }
  void info(const std::string& key, const std::string& value) { record_.info[key] = value; }
  // A value of a series over time (queue depth, loop lag), stamped with the seconds since the
  // measured region began.  Safe from any thread.  Sample at every change or on a period; at the
  // end a long series is cut into kSeriesPoints time slices, each keeping its largest value, so
  // a peak is never thinned away.
  void sample(const std::string& series, double value);

  // Runs fn (returning Outcome) with the meter and the trace on.  An exception from fn ends
  // the run as "failed" with the exception's message as the reason; it is not rethrown.
  template <class Fn>
  void measure(Fn&& fn) {
    begin();
    try {
      end(fn());
    } catch (const std::exception& e) {
      fail(e.what());
    } catch (...) {
      fail("unknown exception");
    }
  }

  // A digest of what was asked for (every parameter of this run) and of `outcome`: for a
  // chapter whose observable result is mostly timing (which jobs a shutdown accepted), so its
  // digest still changes with its inputs while the variants agree on what must agree ("lost=0").
  std::string plan_digest(const std::string& outcome) const;

  const TrialRecord& record() const { return record_; }
  TrialRecord& record() { return record_; }

 private:
  friend class Chapter;
  void begin();
  void end(const Outcome& outcome);
  void fail(const std::string& reason);

  Variant variant_;
  TraceConfig trace_;
  std::int64_t seed_ = 1;
  std::vector<std::string> args_;
  Histogram latency_;
  ResourceMeter meter_;
  std::chrono::steady_clock::time_point began_{};
  std::mutex series_mu_;
  bool measuring_ = false;
  bool measured_ = false;
  TrialRecord record_;
};

// A statement the chapter declares over one run's trials: at the parameters in `where` (plus
// lhs_where / rhs_where for each side), median(lhs) op factor * median(rhs) — or, with op "~",
// lhs within `factor` of rhs either way (a tie: a claim's verdict is then "tie" or "not a tie",
// context shown beside the claim and never counted for or against it) — where lhs and rhs
// name "variant.metric" (e.g. "async.peak_threads", the variant one the chapter declares); metrics are the record's
// metrics, counters or latency fields ("latency_us.p99").  rhs may instead be a plain number, for a count that does not
// scale with the machine ("async.peak_threads <= 4"); never a time.
//
// Two kinds, declared with Chapter::invariant and Chapter::claim:
// - an invariant holds on any machine, core count and load (equal digests, nothing lost, thread
//   counts, order-of-magnitude separations).  `workbench check` fails when one does not hold,
//   and CI gates on it; its margin must be one that no machine can cross.
// - a claim is what the source analysis asserts (CLAIMS.md).  `workbench claims` gives it a
//   verdict on the machine at hand — holds, does not hold or inconclusive — and never fails.
struct Expectation {
  std::string id;
  std::string claim;  // the CLAIMS.md id it decides or supports, e.g. "C6"
  nlohmann::json where = nlohmann::json::object();
  std::string lhs;
  std::string op;  // "<", "<=", ">", ">=", "==" (equal strings, e.g. digests)
  double factor = 1.0;
  std::string rhs;
  std::string why;  // the lesson, one sentence
  // Parameters that hold for one side only, over `where` — to compare one variant at two
  // points (concurrency 16 against concurrency 1, say).
  nlohmann::json lhs_where = nlohmann::json::object();
  nlohmann::json rhs_where = nlohmann::json::object();
  // Only trials whose record `info` has these values count (e.g. {"backend": "io_uring"}: a
  // statement about io_uring says nothing where the kernel refused it).  No such trial: the
  // statement is "not applicable" there, neither a failure nor missing.
  nlohmann::json only_if = nlohmann::json::object();
  // An invariant that cannot fail as the code stands (a count the code fixes, a bound it takes
  // from the same trial): why.  It still gates, as a test would, but the ledger shows it as "by
  // construction" and never counts it as evidence for its claim.
  std::string by_construction = {};
  // A claim about a model's limits: when the OS refused every trial of this variant (a thread,
  // a descriptor, memory), the model hit the wall the claim speaks of — the claim holds, with
  // the OS's reason as its evidence.  Empty: a side without a successful trial is missing.
  std::string refused_holds = {};
  // A claim's row that informs without deciding — a fact of the machine shown beside the claim
  // (the thread ceiling beside C5): why.  Its verdict is shown and never counted.  Ties (op "~")
  // are always context.
  std::string context = {};
  // A claim that needs this many CPUs to say anything (work spread over cores): on fewer, "not
  // measured", saying why.
  std::int64_t min_cpus = 0;
  std::string kind = {};  // "invariant" | "claim": set by Chapter::invariant / claim
};

// A question `workbench lab` asks a student before the chapter runs, and answers from the run:
// "which variant finishes first?", "how many threads will the blocking server use?".  The
// prediction is measured at `where` (the point is run with the lab's repetitions) and shown
// beside the verdict of `claim`, the claim the same run decides.
//
// Two kinds:
// - a number (`choices` empty): `measure` is "variant.metric" or "variant.metric / variant.metric"
//   (a ratio: "sync.wall_s / async.wall_s"), the median over the repetitions; an answer must lie in
//   [min, max] (in `unit`), and one within `close` times the measurement either way is close.
// - a choice: `choices` are variant names and `measure` is "lowest METRIC" or "highest METRIC":
//   the answer is right when it names the variant with the lowest (highest) median.
struct SourceLine {
  std::string file;    // from the project's root: "chapters/01-file-reads/sync.cpp"
  std::string marker;  // text on exactly one line of it (tests/lab.py checks), shown as file:line
  std::string says;    // what that line shows, in a few words
};

struct Prediction {
  std::string id;        // the name --predict uses: lower case, digits and '-'
  std::string question;  // asked as is
  std::string claim;     // the claim this run decides, shown with its verdict
  nlohmann::json where = nlohmann::json::object();
  std::string measure;
  std::vector<std::string> choices = {};
  std::string unit = {};
  double min = 0, max = 0;
  double close = 2.0;
  std::vector<SourceLine> explain = {};  // the lines that explain the answer: sync side, async side
};

struct ChapterInfo {
  std::string name;                   // "file-reads": the runner's name for it
  std::string title;                  // one line
  std::vector<std::string> sections;  // sections of the source analysis it teaches: "1.1", "3.2"
  std::vector<std::string> claims;    // CLAIMS.md ids the chapter tests
  std::string ops_unit;               // what one operation is ("file", "request")
  // The implementations, in the order tables and charts show them (each keeps its colour by
  // this order).  Empty: sync and async.
  std::vector<VariantInfo> variants = {};
  // The variant every ratio is taken against ("x / baseline").  Empty: the first one.
  std::string baseline = {};
  // The metric the charts' ratio and drift panels show by default ("lag_p99_ms").  Empty: wall
  // time, or throughput for a chapter that runs for a fixed duration.
  std::string headline = {};
};

// The list a chapter gets when it declares none.
std::vector<VariantInfo> default_variants();

class Chapter {
 public:
  explicit Chapter(ChapterInfo info);
  Chapter(Chapter&&) noexcept;
  Chapter& operator=(Chapter&&) noexcept;
  ~Chapter();

  // Scenario knobs.  `name` is the long option ("--size-kib"); its snake_case form
  // ("size_kib") is the parameter's name in records and in the runner's --set/--sweep.
  // The variable's value at registration is the default.
  void knob(const std::string& name, std::int64_t& var, const std::string& help, std::int64_t min, std::int64_t max,
            const std::string& unit);
  void knob(const std::string& name, double& var, const std::string& help, double min, double max,
            const std::string& unit);
  void knob(const std::string& name, std::string& var, const std::string& help,
            const std::vector<std::string>& choices);
  // A free-form string (a path); `check` may throw UsageError with a message.
  void text_knob(const std::string& name, std::string& var, const std::string& help,
                 std::function<void(const std::string&)> check = {});

  void counter_doc(const std::string& name, const std::string& unit, const std::string& meaning);
  // A series the chapter samples with Run::sample (drawn against time by the charts).
  void series_doc(const std::string& name, const std::string& unit, const std::string& meaning);
  // The sweep `workbench run --quick` does for this chapter: a few points that show the lesson
  // in seconds.  Values are written as on the command line.
  void quick_sweep(const std::string& param, std::vector<std::string> values);
  // Where the points are not a product — a chapter of several scenarios, each with knobs of its
  // own — the quick run's points one by one ({{"scenario", "switch"}, {"via", "pipe"}}, ...).
  // Combined with quick_sweep's keys as a product; a key the user sweeps or sets is dropped
  // from every point (and points that become equal run once).
  void quick_point(std::vector<std::pair<std::string, std::string>> point);
  // A side that names a variant the chapter does not declare is a bug: std::logic_error.
  void invariant(Expectation e);  // gates CI: see Expectation
  void claim(Expectation e);      // gets a verdict, never fails: see Expectation
  // A question for `workbench lab` (see Prediction).  A measure or choice that names no declared
  // variant, an empty range, an id used twice or no explaining line is a bug: std::logic_error.
  void prediction(Prediction p);

  // The --backend option of every chapter that calls the backend (common/backend.hpp), bound
  // to `spec`: HOST:PORT of a running workbench-backend; empty starts one.
  void backend_knob(std::string& spec);

  // A process the chapter starts of itself, one that must not run as a trial (chapter 12's
  // thread-terminate child, which aborts by design): the knob `name` with `choices`, the first
  // of which ("off") means "a trial as usual"; any other value (bound to `var`, as a knob's is)
  // makes parse() run helper(--seed's value) and return its exit code instead of going on to run().
  void helper_process(const std::string& name, std::string& var, const std::string& help,
                      const std::vector<std::string>& choices, std::function<int(std::int64_t seed)> helper);

  // Parses the command line.  Returns an exit code when the process should end now (help,
  // --describe, bad usage = 2, a helper process's own), nothing when run() should follow.
  std::optional<int> parse(int argc, char** argv);
  std::optional<int> parse(const std::vector<std::string>& args);  // args without argv[0]

  // Runs the variant(s) chosen by --mode: one runs in this process, several each in a child
  // process of its own.  body(v, run) builds the scenario and calls run.measure(...).  Returns
  // the process exit code: 0 ok, 1 a run failed, 2 bad usage.
  int run(const std::function<void(const Variant&, Run&)>& body);

  nlohmann::json describe() const;
  std::int64_t seed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wb
