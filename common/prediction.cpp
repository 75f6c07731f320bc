// Chapter::prediction: the questions `workbench lab` asks before a chapter runs (Prediction in
// chapter.hpp), checked as they are declared, and their form in --describe.
#include <algorithm>
#include <stdexcept>

#include "common/chapter.hpp"
#include "common/chapter_impl.hpp"

namespace wb {

using nlohmann::json;

void Chapter::prediction(Prediction p) {
  const auto& names = impl_->variant_names();
  const auto bad = [&](const std::string& what) {
    throw std::logic_error(impl_->info.name + ": prediction " + p.id + ": " + what);
  };
  const auto is_variant = [&](const std::string& v) { return std::find(names.begin(), names.end(), v) != names.end(); };
  if (p.id.empty() || p.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    bad("an id is lower case letters, digits and '-'");
  for (const auto& q : impl_->predictions)
    if (q.id == p.id) bad("declared twice");
  if (p.question.empty() || p.claim.empty()) bad("a question and the claim it leads to");
  if (p.explain.empty()) bad("no line explains the answer");
  for (const auto& l : p.explain)
    if (l.file.empty() || l.marker.empty()) bad("an explaining line needs a file and a marker");
  if (p.choices.empty()) {
    const auto names_a_variant = [&](const std::string& side) {  // "v.metric"
      const auto dot = side.find('.');
      return dot != std::string::npos && dot + 1 < side.size() && is_variant(side.substr(0, dot));
    };
    const auto slash = p.measure.find(" / ");
    if (slash == std::string::npos
            ? !names_a_variant(p.measure)
            : !names_a_variant(p.measure.substr(0, slash)) || !names_a_variant(p.measure.substr(slash + 3)))
      bad("\"" + p.measure + "\" is not variant.metric or variant.metric / variant.metric");
    if (!(p.min < p.max) || p.unit.empty()) bad("a number needs a unit and a range min < max");
    if (!(p.close > 1)) bad("close is a factor above 1");
  } else {
    if (!p.measure.starts_with("lowest ") && !p.measure.starts_with("highest "))
      bad("a choice is measured as \"lowest METRIC\" or \"highest METRIC\"");
    for (const auto& c : p.choices)
      if (!is_variant(c)) bad("choice " + c + " is no declared variant");
    if (p.choices.size() < 2) bad("a choice needs two choices");
  }
  impl_->predictions.push_back(std::move(p));
}

json Chapter::Impl::predictions_json() const {
  json out = json::array();
  for (const auto& p : predictions) {
    json explain = json::array();
    for (const auto& l : p.explain) explain.push_back({{"file", l.file}, {"marker", l.marker}, {"says", l.says}});
    json one = {{"id", p.id},        {"question", p.question}, {"claim", p.claim},
                {"where", p.where},  {"measure", p.measure},   {"kind", p.choices.empty() ? "number" : "choice"},
                {"explain", explain}};
    if (p.choices.empty()) {
      one.update({{"unit", p.unit}, {"min", p.min}, {"max", p.max}, {"close", p.close}});
    } else {
      one["choices"] = p.choices;
    }
    out.push_back(std::move(one));
  }
  return out;
}

}  // namespace wb
