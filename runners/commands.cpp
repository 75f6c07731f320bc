#include "runners/commands.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>

#include "common/record.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

std::string fit(std::string s, std::size_t width) {
  if (s.size() <= width) return s;
  return s.substr(0, width - 1) + "~";
}

std::string context_line(const json& doc) {
  const json c = doc.value("context", json::object());
  return c.value("host", "?") + ", " + std::to_string(c.value("cpus", 0)) + " cpus, git " + c.value("git", "?") + ", " +
         c.value("date", "?");
}

void write_json_or_stdout(const std::string& out, const json& doc) {
  if (out.empty() || out == "-") {
    std::cout << doc.dump(1) << '\n';
    return;
  }
  write_file_atomically(out, doc.dump(1) + "\n");
}

}  // namespace

json load_results(const std::string& path) {
  try {
    return read_results(path);
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
}

int cmd_check(const std::string& path, const json& current, const std::string& json_out) {
  const json doc = load_results(path);
  json descriptions = chapter_descriptions(doc);
  std::vector<std::string> from_build;
  for (const auto& [name, desc] : current.items()) {
    const bool in_file = std::any_of(doc["trials"].begin(), doc["trials"].end(),
                                     [&](const json& t) { return t.value("chapter", "") == name; });
    if (!in_file) continue;
    descriptions[name] = desc;
    from_build.push_back(name);
  }
  const auto report = check_expectations(doc, descriptions);

  std::printf("workbench check %s\n  run: %s\n", path.c_str(), context_line(doc).c_str());
  if (descriptions.empty()) {
    std::printf("  no chapter descriptions: the file carries none and the build knows none of its chapters\n");
  }
  struct Row {
    std::string chapter, id, claim, point, lhs, op, rhs, margin, mark;
  };
  std::vector<Row> rows;
  int pass = 0, fail = 0, missing = 0;
  for (const auto& v : report.verdicts) {
    const json desc = descriptions.value(v.chapter, json());
    std::string point = v.needs.is_object() ? "needs " + point_name(v.needs, json()) : point_name(v.point, desc);
    if (point.empty()) point = "defaults";
    std::string op;
    for (const auto& e : desc.value("expectations", json::array())) {
      if (e.value("id", "") == v.id) op = e.value("op", "");
    }
    char margin[16] = "";
    if (v.status != "missing" && v.margin > 0 && op != "==") {
      if (std::isinf(v.margin)) std::snprintf(margin, sizeof margin, "inf");
      else std::snprintf(margin, sizeof margin, "%.2fx", v.margin);
    }
    const char* mark = v.status == "pass" ? "pass" : v.status == "fail" ? "FAIL" : "MISSING";
    rows.push_back({v.host.empty() ? v.chapter : v.chapter + "@" + v.host, v.id, v.claim, fit(point, 40), v.lhs, op, v.rhs, margin, mark});
    (v.status == "pass" ? pass : v.status == "fail" ? fail : missing)++;
  }
  std::size_t w[7] = {7, 11, 5, 5, 3, 3, 6};
  for (const auto& r : rows) {
    const std::string* cols[7] = {&r.chapter, &r.id, &r.claim, &r.point, &r.lhs, &r.rhs, &r.margin};
    for (int i = 0; i < 7; ++i) w[i] = std::max(w[i], cols[i]->size());
  }
  auto line = [&](const Row& r) {
    std::printf("%-*s  %-*s  %-*s  %-*s  %*s %-2s %-*s  %*s  %s\n", int(w[0]), r.chapter.c_str(), int(w[1]), r.id.c_str(),
                int(w[2]), r.claim.c_str(), int(w[3]), r.point.c_str(), int(w[4]), r.lhs.c_str(), r.op.c_str(), int(w[5]),
                r.rhs.c_str(), int(w[6]), r.margin.c_str(), r.mark.c_str());
  };
  std::printf("\n");
  line({"chapter", "expectation", "claim", "point", "lhs", "", "rhs", "margin", "verdict"});
  std::string last;
  for (auto r : rows) {
    if (r.chapter == last) r.chapter = "";
    else last = r.chapter;
    line(r);
  }
  bool headed = false;
  for (const auto& v : report.verdicts) {
    if (v.status == "pass") continue;
    if (!headed) std::printf("\n");
    headed = true;
    std::printf("%s %s/%s: %s\n    %s\n    %s\n", v.status == "fail" ? "FAIL" : "MISSING", v.chapter.c_str(), v.id.c_str(),
                v.text.c_str(), v.detail.c_str(), v.why.c_str());
  }
  if (!report.not_run.empty()) {
    std::string names;
    for (const auto& n : report.not_run) names += " " + n;
    std::printf("\nnot in this file (not checked):%s\n", names.c_str());
  }
  std::printf("\n%d pass, %d fail, %d missing\n", pass, fail, missing);
  if (fail == 0 && missing == 0 && pass == 0) {
    std::printf("nothing was checked: the file has no trials of a chapter that declares expectations\n");
  }

  if (!json_out.empty()) {
    json verdicts = json::array();
    for (const auto& v : report.verdicts) {
      verdicts.push_back({{"chapter", v.chapter}, {"host", v.host}, {"id", v.id}, {"claim", v.claim}, {"text", v.text}, {"why", v.why},
                          {"status", v.status}, {"point", v.point}, {"needs", v.needs}, {"lhs", v.lhs}, {"rhs", v.rhs},
                          {"margin", std::isfinite(v.margin) ? json(v.margin) : json(nullptr)}, {"detail", v.detail}});
    }
    write_json_or_stdout(json_out, json{{"results", path},
                                        {"verdicts", verdicts},
                                        {"not_run", report.not_run},
                                        {"exit", report.exit_code()}});
  }
  std::fflush(stdout);
  return pass + fail + missing == 0 ? 3 : report.exit_code();
}

int cmd_compare(const std::string& old_path, const std::string& new_path, const CompareOptions& options,
                const std::string& json_out, bool fail_on_regression, bool changed_only) {
  const json old_doc = load_results(old_path);
  const json new_doc = load_results(new_path);
  const auto report = compare_results(old_doc, new_doc, options);

  std::printf("workbench compare\n  OLD %s: %s\n  NEW %s: %s\n", old_path.c_str(), context_line(old_doc).c_str(),
              new_path.c_str(), context_line(new_doc).c_str());
  std::printf("  a change counts when it is larger than %.0f%% and significant at %.2f\n", options.threshold * 100,
              options.alpha);
  std::size_t min_n = SIZE_MAX;
  bool any_boot = false;
  for (const auto& c : report.changes) {
    if (c.test == "bootstrap") {
      any_boot = true;
      min_n = std::min({min_n, c.old_values.size(), c.new_values.size()});
    }
  }
  if (any_boot) {
    std::printf(
        "  note: rows marked \"boot\" have too few repetitions for the rank test (with %zu against %zu the smallest\n"
        "        two-sided Mann-Whitney p is %.2f, never below %.2f); they are judged by the threshold and a\n"
        "        %.0f%% bootstrap interval of the change instead.  Use --repeat 5 or more for a rank test.\n",
        min_n, min_n, min_rank_p(min_n, min_n), options.alpha, (1 - options.alpha) * 100);
  }

  const json chapters = chapter_descriptions(new_doc);
  std::printf("\n%-12s %-5s %-24s %-16s %11s %11s %8s %-22s %s\n", "chapter", "var", "point", "metric", "old", "new",
              "change", "test", "verdict");
  int shown = 0;
  for (const auto& c : report.changes) {
    if (changed_only && c.verdict == "same") continue;
    std::string point = point_name(c.params, chapters.value(c.chapter, json()));
    if (point.empty()) point = "defaults";
    char change[16], test[40];
    if (std::isfinite(c.change)) std::snprintf(change, sizeof change, "%+.1f%%", c.change * 100);
    else std::snprintf(change, sizeof change, "new");
    if (c.test == "U") std::snprintf(test, sizeof test, "U p=%.3f", c.p);
    else std::snprintf(test, sizeof test, "boot [%+.0f%%,%+.0f%%]", c.ci_low * 100, c.ci_high * 100);
    const std::string verdict = c.verdict == "worse" ? "WORSE" : c.verdict;
    std::printf("%-12s %-5s %-24s %-16s %11s %11s %8s %-22s %s\n", fit(c.chapter, 12).c_str(), c.variant.c_str(),
                fit(point, 24).c_str(), fit(c.metric, 16).c_str(), format_metric(c.metric, c.old_median).c_str(),
                format_metric(c.metric, c.new_median).c_str(), change, test, verdict.c_str());
    ++shown;
  }
  if (shown == 0 && !report.changes.empty()) std::printf("(no metric changed beyond noise)\n");
  for (const auto& u : report.unmatched) std::printf("unmatched: %s\n", u.c_str());

  int worse = 0, better = 0;
  for (const auto& c : report.changes) {
    worse += c.verdict == "worse";
    better += c.verdict == "better";
  }
  std::printf("\n%zu metrics compared: %d worse, %d better, %zu within noise\n", report.changes.size(), worse, better,
              report.changes.size() - static_cast<std::size_t>(worse + better));
  if (!json_out.empty()) write_json_or_stdout(json_out, to_json(report, options));
  std::fflush(stdout);
  if (report.changes.empty()) {
    std::fprintf(stderr, "workbench: the two files share no successful trial (same chapter, variant and parameters)\n");
    return 3;
  }
  return fail_on_regression && report.regression() ? 1 : 0;
}

int cmd_export(const std::string& path, const std::string& format, const std::string& out) {
  if (format != "gbench") throw UsageError("unknown export format \"" + format + "\" (known: gbench)");
  write_json_or_stdout(out, export_gbench(load_results(path)));
  return 0;
}

int cmd_merge(const std::vector<std::string>& paths, const std::string& out) {
  std::vector<json> docs;
  for (const auto& p : paths) docs.push_back(load_results(p));
  const json merged = merge_results(docs, paths);
  write_json_or_stdout(out, merged);
  std::fprintf(stderr, "workbench: merged %zu files, %zu trials -> %s\n", paths.size(), merged["trials"].size(),
               out.empty() ? "stdout" : out.c_str());
  return 0;
}

}  // namespace wb::runner
