#include "runners/lab.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <stdexcept>

#include "common/record.hpp"
#include "runners/chapters.hpp"
#include "runners/claims.hpp"
#include "runners/metrics.hpp"
#include "runners/results_files.hpp"
#include "runners/run.hpp"

namespace wb::runner {

using nlohmann::json;
using Point = std::vector<std::pair<std::string, std::string>>;

namespace {

bool matches(const json& params, const json& where) {
  for (const auto& [k, v] : where.items()) {
    if (!params.contains(k) || params[k] != v) return false;
  }
  return true;
}

std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// "sync.latency_us.p99" -> {"sync", "latency_us.p99"}
std::pair<std::string, std::string> split_side(const std::string& side) {
  const auto dot = side.find('.');
  return {side.substr(0, dot), side.substr(dot + 1)};
}

std::optional<double> median_at(const json& results, const std::string& chapter, const std::string& variant,
                                const std::string& metric, const json& where) {
  std::vector<double> values;
  for (const auto& t : results.at("trials")) {
    if (t.value("chapter", "") != chapter || t.value("variant", "") != variant || t.value("status", "") != "ok")
      continue;
    if (!matches(t.value("params", json::object()), where)) continue;
    if (const auto v = metric_number(t, metric)) values.push_back(*v);
  }
  if (values.empty()) return std::nullopt;
  return median(values);
}

// "17", "0.0312", "35500": three significant digits, and no exponent below a billion.
std::string number_text(double v, const std::string& unit) {
  char buf[64];
  if (std::abs(v) >= 1000 && std::abs(v) < 1e9)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return std::string(buf) + (unit.empty() ? "" : " " + unit);
}

// The line of `file` (under root) that holds `marker`: "chapters/01-file-reads/sync.cpp:42".
std::string locate(const std::string& root, const std::string& file, const std::string& marker) {
  std::ifstream in(root + "/" + file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find(marker) != std::string::npos) return file + ":" + std::to_string(n);
  }
  return file + " (the line holding \"" + marker + "\" is gone: the chapter's declaration is stale)";
}

// An answer as typed back: "16 threads", "async".
std::string answer_text(const json& p, const json& answer) {
  return answer.is_number() ? number_text(answer.get<double>(), p.value("unit", "")) : text_of(answer);
}

std::string ask_text(const json& p) {
  if (p.value("kind", "") == "choice") {
    std::string c;
    for (const auto& x : p.at("choices")) c += (c.empty() ? "" : " | ") + x.get<std::string>();
    return c;
  }
  return p.at("unit").get<std::string>() + ", " + number_text(p.at("min").get<double>(), "") + " to " +
         number_text(p.at("max").get<double>(), "");
}

}  // namespace

std::map<std::string, std::string> parse_answers(const std::vector<std::string>& lines, const std::string& where) {
  std::map<std::string, std::string> out;
  int n = 0;
  for (auto line : lines) {
    ++n;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    const auto eq = line.find('=');
    const std::string at = where + (lines.size() > 1 ? " line " + std::to_string(n) : "");
    if (eq == std::string::npos || eq == 0 || eq + 1 == line.size())
      throw std::invalid_argument(at + ": \"" + line + "\" is not ID=VALUE");
    const std::string id = line.substr(0, eq);
    if (!out.emplace(id, line.substr(eq + 1)).second) throw std::invalid_argument(at + ": " + id + " answered twice");
  }
  return out;
}

json accept_answer(const json& p, const std::string& text) {
  const std::string id = p.at("id").get<std::string>();
  if (p.value("kind", "") == "choice") {
    for (const auto& c : p.at("choices"))
      if (c.get<std::string>() == text) return text;
    throw std::invalid_argument(id + ": \"" + text + "\" is not one of " + ask_text(p));
  }
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v))
    throw std::invalid_argument(id + ": \"" + text + "\" is not a number (" + ask_text(p) + ")");
  if (v < p.at("min").get<double>() || v > p.at("max").get<double>())
    throw std::invalid_argument(id + ": " + text + " is outside " + ask_text(p));
  return v;
}

std::vector<Point> lab_points(const json& description) {
  ChapterEntry entry{description.value("name", ""), "", description};
  std::vector<Point> points;
  std::vector<json> seen;  // every parameter of each point kept, typed as the plan types them
  auto keep = [&](const Point& p) {
    PlanRequest at;
    at.chapters = {&entry};
    at.points = {p};
    json full = make_plan(at).front().params;
    if (std::find(seen.begin(), seen.end(), full) != seen.end()) return;
    seen.push_back(std::move(full));
    points.push_back(p);
  };
  std::set<std::string> claims;
  for (const auto& p : description.value("predictions", json::array())) {
    Point point;
    const json where = p.value("where", json::object());  // named: items() refers to it
    for (const auto& [k, v] : where.items()) point.emplace_back(k, text_of(v));
    keep(point);
    claims.insert(p.value("claim", ""));
  }
  // The quick points at which a predicted claim's declarations are measured.
  PlanRequest req;
  req.chapters = {&entry};
  req.quick = true;
  for (const auto& t : make_plan(req)) {
    for (const auto& e : description.value("expectations", json::array())) {
      if (!claims.count(e.value("claim", ""))) continue;
      const auto object = [&](const char* key) {  // an older description may have null there
        const json v = e.value(key, json::object());
        return v.is_object() ? v : json::object();
      };
      json lhs = object("where"), rhs = lhs;
      lhs.update(object("lhs_where"));
      rhs.update(object("rhs_where"));
      if (matches(t.params, lhs) || matches(t.params, rhs)) {
        keep(t.point);
        break;
      }
    }
  }
  return points;
}

json measure_prediction(const std::string& chapter, const json& p, const json& results) {
  const json where = p.value("where", json::object());
  const std::string measure = p.at("measure").get<std::string>();
  const auto missing = [&](const std::string& variant) {
    return json{{"measured", nullptr},
                {"reason", "no successful trial of " + variant + " at " +
                               (where.empty() ? std::string("the defaults") : point_name(where, json()))}};
  };
  if (p.value("kind", "") == "choice") {
    const bool lowest = measure.starts_with("lowest ");
    const std::string metric = measure.substr(measure.find(' ') + 1);
    std::vector<std::pair<double, std::string>> ranked;
    std::string detail;
    for (const auto& c : p.at("choices")) {
      const auto v = median_at(results, chapter, c.get<std::string>(), metric, where);
      if (!v) return missing(c.get<std::string>());
      ranked.emplace_back(lowest ? *v : -*v, c.get<std::string>());
      detail += (detail.empty() ? "" : ", ") + c.get<std::string>() + " " + format_metric(metric, *v);
    }
    std::sort(ranked.begin(), ranked.end());
    const double a = std::abs(ranked[0].first), b = std::abs(ranked[1].first);
    if (std::max(a, b) > 0 && std::abs(a - b) / std::max(a, b) < 0.1) detail += " (a near tie: within 10 %)";
    return json{
        {"measured", ranked.front().second}, {"text", ranked.front().second}, {"detail", metric + ": " + detail}};
  }
  const auto slash = measure.find(" / ");
  const auto [variant, metric] = split_side(measure.substr(0, slash));
  const auto top = median_at(results, chapter, variant, metric, where);
  if (!top) return missing(variant);
  if (slash == std::string::npos) {
    return json{{"measured", *top},
                {"text", number_text(*top, p.value("unit", ""))},
                {"detail", variant + " " + metric + " " + format_metric(metric, *top)}};
  }
  const auto [under_variant, under_metric] = split_side(measure.substr(slash + 3));
  const auto under = median_at(results, chapter, under_variant, under_metric, where);
  if (!under) return missing(under_variant);
  if (*under == 0) return json{{"measured", nullptr}, {"reason", measure + ": the divisor measured 0"}};
  return json{{"measured", *top / *under},
              {"text", number_text(*top / *under, p.value("unit", ""))},
              {"detail", variant + " " + metric + " " + format_metric(metric, *top) + " / " + under_variant + " " +
                             under_metric + " " + format_metric(under_metric, *under)}};
}

json judge_prediction(const json& p, const json& answer, const json& measured) {
  if (measured.is_null()) return json{{"outcome", "not measured"}};
  if (p.value("kind", "") == "choice") return json{{"outcome", answer == measured ? "right" : "wrong"}};
  const double a = answer.get<double>(), m = measured.get<double>();
  if (a <= 0 || m <= 0) return json{{"outcome", a == m ? "close" : "far"}};
  const double factor = std::max(a / m, m / a);
  return json{{"outcome", factor <= p.value("close", 2.0) ? "close" : "far"}, {"factor", factor}};
}

namespace {

// The answers given before the run (--predict, then --answers: --predict wins), each checked
// now — a typo must not cost a run — and the ids left unanswered.
json answers_given(const LabOptions& o, const json& predictions, std::vector<std::string>& unanswered) {
  std::map<std::string, std::string> given;
  try {
    given = parse_answers(o.predict, "--predict");
    if (!o.answers_file.empty()) {
      std::ifstream in(o.answers_file);
      if (!in) throw std::invalid_argument("--answers " + o.answers_file + ": cannot read it");
      std::vector<std::string> lines;
      for (std::string l; std::getline(in, l);) lines.push_back(l);
      for (const auto& [id, v] : parse_answers(lines, o.answers_file)) given.emplace(id, v);
    }
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  std::string ids;
  for (const auto& p : predictions) ids += (ids.empty() ? "" : ", ") + p.at("id").get<std::string>();
  for (const auto& [id, v] : given) {
    if (std::none_of(predictions.begin(), predictions.end(), [&](const json& p) { return p["id"] == id; }))
      throw UsageError("no prediction " + id + " in " + o.chapter + " (it asks: " + ids + ")");
  }
  json answers = json::object();
  for (const auto& p : predictions) {
    const std::string id = p.at("id").get<std::string>();
    if (const auto it = given.find(id); it != given.end()) {
      try {
        answers[id] = accept_answer(p, it->second);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
    } else {
      unanswered.push_back(id);
    }
  }
  return answers;
}

// At a terminal: the question again until the answer is one it accepts.
json ask(const json& p) {
  for (;;) {
    std::cout << "    your answer> " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line))
      throw UsageError("no answer for " + p.at("id").get<std::string>() + " (end of input)");
    try {
      return accept_answer(p, line.substr(0, line.find_last_not_of(" \t\r") + 1));
    } catch (const std::invalid_argument& e) {
      std::cout << "    " << e.what() << "\n";
    }
  }
}

// The claim's verdict in this chapter from the run's ledger, and its rows of evidence.
std::pair<std::string, json> claim_in_chapter(const json& ledger, const std::string& claim,
                                              const std::string& chapter) {
  std::string verdict = "not measured";
  json evidence = json::array();
  for (const auto& c : ledger.value("claims", json::array())) {
    if (c.value("id", "") != claim) continue;
    for (const auto& ch : c.value("chapters", json::array())) {
      if (ch.value("chapter", "") != chapter) continue;
      verdict = ch.value("verdict", verdict);
      evidence = ch.value("evidence", json::array());
    }
  }
  return {verdict, evidence};
}

void print_claim(const std::string& claim, const std::string& verdict, const json& evidence) {
  const bool context_only = !evidence.empty() && std::all_of(evidence.begin(), evidence.end(), [](const json& e) {
    return !e.value("context", "").empty();
  });
  std::cout << "  " << claim << " on this machine: " << verdict
            << (context_only ? " (this chapter's rows for it are context, not evidence)" : "")
            << (verdict == "inconclusive" ? " (more repetitions may decide it: --repeat 10)" : "") << "\n";
  for (const auto& e : evidence)
    std::cout << "    " << fit(e.value("verdict", "").empty() ? e.value("status", "") : e.value("verdict", ""), 14)
              << "  " << e.value("text", "") << "  at "
              << (e.value("point", "").empty() ? std::string("the defaults") : e.value("point", "")) << "\n";
}

}  // namespace

int cmd_lab(std::vector<ChapterEntry>& chapters, const LabOptions& o) {
  auto& chapter = const_cast<ChapterEntry&>(find_chapter(chapters, o.chapter));
  chapter.description = describe_chapter(chapter);
  const json& d = chapter.description;
  json predictions = d.value("predictions", json::array());
  if (predictions.empty()) throw UsageError(o.chapter + " declares no predictions: nothing to ask");
  std::map<std::string, std::string> statements;
  for (const auto& c : load_claim_catalog(o.claims_catalog)) statements[c.id] = c.statement;

  std::vector<std::string> unanswered;
  json answers = answers_given(o, predictions, unanswered);
  if (!unanswered.empty() && !isatty(0)) {
    std::string list;
    for (const auto& id : unanswered) list += (list.empty() ? "" : ", ") + id;
    throw UsageError("no answer for " + list + ": give --predict ID=VALUE for each, or --answers FILE, or run at a " +
                     "terminal to be asked (`workbench describe " + o.chapter + "` lists the questions)");
  }

  // The questions: the claims in words, the points, then each question (asked, or answered).
  std::cout << "Lab: " << o.chapter << " - " << d.value("title", "") << "\n";
  std::set<std::string> shown;
  for (const auto& p : predictions) {
    const std::string claim = p.value("claim", "");
    if (shown.insert(claim).second)
      std::cout << "  " << claim << ": " << (statements.count(claim) ? statements[claim] : "(not in the catalog)")
                << "\n";
  }
  const auto points = lab_points(d);
  std::cout << "It runs " << points.size() << " point(s), " << o.repeat << " repetition(s) of every variant at each, "
            << "every trial a process of its own.\n\n";
  for (const auto& p : predictions) {
    const std::string id = p.at("id").get<std::string>();
    const json where = p.value("where", json::object());
    std::cout << "[" << id << "] " << p.at("question").get<std::string>() << "\n    at "
              << (where.empty() ? std::string("the defaults") : point_name(where, d)) << "; answer in " << ask_text(p)
              << "\n";
    if (answers.contains(id))
      std::cout << "    you: " << answer_text(p, answers[id]) << "\n";
    else
      answers[id] = ask(p);
  }
  std::cout << std::endl;

  // The run.
  RunOptions run;
  run.names = {o.chapter};
  run.plan.points = points;
  run.plan.repeat = o.repeat;
  run.out = o.out;
  run.trial_timeout = o.trial_timeout;
  run.summary = "none";
  run.claims_catalog = o.claims_catalog;
  run.label = o.label;
  const int rc = cmd_run(chapters, run);
  if (rc == 130) return rc;

  // Each answer against the measurement, the claims' verdicts, and the file's "lab".
  json doc = load_results(o.out);
  const json ledger = doc.value("claims", json::object());
  json entry = {{"chapter", o.chapter},
                {"label", doc.at("context").value("label", doc.at("context").value("host", ""))},
                {"repeat", o.repeat},
                {"predictions", json::array()}};
  std::cout << "\nYour predictions against this machine (medians of " << o.repeat << " repetition(s)):\n";
  std::set<std::string> claims_done;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const json& p = predictions[i];
    const std::string id = p.at("id").get<std::string>();
    const json m = measure_prediction(o.chapter, p, doc);
    const json judged = judge_prediction(p, answers[id], m.at("measured"));
    const std::string outcome = judged.at("outcome").get<std::string>();
    std::cout << "[" << id << "] you: " << answer_text(p, answers[id]) << "   measured: " << m.value("text", "-")
              << "   " << outcome;
    if (judged.contains("factor")) {
      char f[96];
      std::snprintf(f, sizeof f, "x off; close is within %gx either way)", p.value("close", 2.0));
      std::cout << " (" << number_text(judged["factor"].get<double>(), "") << f;
    }
    std::cout << "\n    " << m.value("detail", m.value("reason", "")) << "\n";
    for (const auto& l : p.value("explain", json::array()))
      std::cout << "    why: " << locate(o.source_root, l.value("file", ""), l.value("marker", "")) << "  "
                << l.value("says", "") << "\n";
    const std::string claim = p.value("claim", "");
    const auto [verdict, evidence] = claim_in_chapter(ledger, claim, o.chapter);
    // Once per claim, after its last question.
    const bool last_of_claim = std::none_of(predictions.begin() + static_cast<long>(i) + 1, predictions.end(),
                                            [&](const json& q) { return q.value("claim", "") == claim; });
    if (last_of_claim && claims_done.insert(claim).second) print_claim(claim, verdict, evidence);
    entry["predictions"].push_back({{"id", id},
                                    {"question", p.at("question")},
                                    {"claim", claim},
                                    {"where", p.value("where", json::object())},
                                    {"kind", p.at("kind")},
                                    {"unit", p.value("unit", "")},
                                    {"predicted", answers[id]},
                                    {"measured", m.at("measured")},
                                    {"detail", m.value("detail", m.value("reason", ""))},
                                    {"outcome", outcome},
                                    {"factor", judged.value("factor", json())},
                                    {"claim_verdict", verdict}});
  }
  doc["lab"] = json::array({entry});
  wb::write_file_atomically(o.out, doc.dump(1) + "\n");
  std::cout << "\nResults, your predictions in its \"lab\": " << o.out << "\n";
  return rc;
}

}  // namespace wb::runner
