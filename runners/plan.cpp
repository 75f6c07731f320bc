#include "runners/plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace wb::runner {

using nlohmann::json;

namespace {

std::string normalise(std::string key) {
  while (!key.empty() && key.front() == '-') key.erase(key.begin());
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

const json* find_option(const ChapterEntry& c, const std::string& param) {
  for (const auto& o : c.description.at("options")) {
    if (o.at("param").get<std::string>() == param) return &o;
  }
  return nullptr;
}

// The typed value of a parameter given as text, so records carry 16, not "16".
json typed_value(const json& option, const std::string& text, const std::string& chapter) {
  const auto type = option.at("type").get<std::string>();
  const auto param = option.at("param").get<std::string>();
  std::size_t used = 0;
  try {
    if (type == "int") {
      const long long v = std::stoll(text, &used);
      if (used == text.size()) return v;
    } else if (type == "float") {
      const double v = std::stod(text, &used);
      if (used == text.size()) return v;
    } else {
      return text;
    }
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(chapter + ": parameter " + param + " takes " +
                              (type == "int" ? "an integer" : "a number") + ", not \"" + text + "\"");
}

std::vector<std::string> mode_names(const std::string& mode) {
  std::vector<std::string> names;
  for (std::size_t start = 0;;) {
    const auto comma = mode.find(',', start);
    names.push_back(mode.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (names.back().empty()) throw std::invalid_argument("--mode \"" + mode + "\": an empty variant name");
    if (comma == std::string::npos) return names;
    start = comma + 1;
  }
}

}  // namespace

std::vector<std::string> variants_of(const json& description) {
  if (description.contains("variants") && description["variants"].is_array() && !description["variants"].empty()) {
    return description["variants"].get<std::vector<std::string>>();
  }
  return {"sync", "async"};
}

std::string baseline_of(const json& description) {
  if (description.contains("baseline") && description["baseline"].is_string()) {
    return description["baseline"].get<std::string>();
  }
  return variants_of(description).front();
}

bool ends_early(const json& description, const std::string& variant) {
  for (const auto& info : description.value("variant_info", json::array()))
    if (info.value("name", "") == variant) return info.value("ends_early", false);
  return false;
}

std::vector<std::string> select_variants(const json& description, const std::string& mode) {
  const auto all = variants_of(description);
  if (mode == "all" || mode == "both") return all;
  const auto wanted = mode_names(mode);
  std::vector<std::string> out;
  for (const auto& v : all) {
    if (std::find(wanted.begin(), wanted.end(), v) != wanted.end()) out.push_back(v);
  }
  return out;
}

std::pair<std::string, std::string> parse_assignment(const std::string& text, const char* option) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw std::invalid_argument(std::string(option) + " takes KEY=VALUE, not \"" + text + "\"");
  }
  return {normalise(text.substr(0, eq)), text.substr(eq + 1)};
}

std::pair<std::string, std::vector<std::string>> parse_sweep(const std::string& text) {
  auto [key, list] = parse_assignment(text, "--sweep");
  std::vector<std::string> values;
  std::size_t start = 0;
  for (;;) {
    const auto comma = list.find(',', start);
    values.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (const auto& v : values) {
    if (v.empty()) throw std::invalid_argument("--sweep " + text + ": empty value in the list");
  }
  return {key, values};
}

std::vector<TrialSpec> make_plan(const PlanRequest& req) {
  if (req.repeat < 1) throw std::invalid_argument("--repeat must be at least 1");
  // Every key must mean something to at least one chapter of the run.
  auto check_key = [&](const std::string& key, const char* option) {
    for (const auto* c : req.chapters) {
      if (find_option(*c, key)) return;
    }
    std::string known;
    if (req.chapters.size() == 1) {
      for (const auto& o : req.chapters.front()->description.at("options")) {
        known += ' ';
        known += o.at("param").get<std::string>();
      }
    }
    throw std::invalid_argument(std::string(option) + " " + key + ": no chapter of this run has that parameter" +
                                (known.empty() ? "" : " (it has:" + known + ")"));
  };
  for (const auto& [k, v] : req.sets) check_key(k, "--set");
  for (const auto& [k, vs] : req.sweeps) check_key(k, "--sweep");
  if (req.mode != "all" && req.mode != "both") {
    for (const auto& n : mode_names(req.mode)) {
      std::string known;
      bool found = false;
      for (const auto* c : req.chapters) {
        for (const auto& v : variants_of(c->description)) {
          found = found || v == n;
          if (known.find(" " + v + ",") == std::string::npos) known += " " + v + ",";
        }
      }
      if (!found) {
        if (!known.empty()) known.pop_back();
        throw std::invalid_argument("--mode " + n + ": no chapter of this run has that variant (they have:" + known +
                                    "; or all)");
      }
    }
  }

  std::vector<TrialSpec> plan;
  for (const auto* c : req.chapters) {
    const auto variants = select_variants(c->description, req.mode);
    // The sweep points that apply to this chapter: the cartesian product of its swept keys.
    std::vector<std::pair<std::string, std::vector<std::string>>> axes;
    for (const auto& s : req.sweeps) {
      if (find_option(*c, s.first)) axes.push_back(s);
    }
    if (req.quick && c->description.contains("quick")) {
      for (const auto& [key, values] : c->description["quick"].items()) {
        const bool taken = std::any_of(axes.begin(), axes.end(), [&](const auto& a) { return a.first == key; }) ||
                           std::any_of(req.sets.begin(), req.sets.end(), [&](const auto& s) { return s.first == key; });
        if (!taken && find_option(*c, key)) axes.emplace_back(key, values.get<std::vector<std::string>>());
      }
    }
    std::vector<std::vector<std::pair<std::string, std::string>>> points = {{}};
    if (!req.points.empty())
      points = req.points;
    else if (req.quick && c->description.contains("quick_points") && !c->description["quick_points"].empty()) {
      // The chapter's own list of points, less the keys the user swept or set; equal ones once.
      points.clear();
      for (const auto& declared : c->description["quick_points"]) {
        std::vector<std::pair<std::string, std::string>> p;
        for (const auto& [key, value] : declared.items()) {
          const auto taken = [&](const auto& s) { return s.first == key; };
          if (find_option(*c, key) && std::none_of(axes.begin(), axes.end(), taken) &&
              std::none_of(req.sets.begin(), req.sets.end(), taken))
            p.emplace_back(key, value.get<std::string>());
        }
        if (std::find(points.begin(), points.end(), p) == points.end()) points.push_back(std::move(p));
      }
    }
    for (const auto& [key, values] : axes) {
      std::vector<std::vector<std::pair<std::string, std::string>>> next;
      for (const auto& p : points) {
        for (const auto& v : values) {
          auto q = p;
          q.emplace_back(key, v);
          next.push_back(std::move(q));
        }
      }
      points = std::move(next);
    }
    for (int rep = 0; rep < req.repeat; ++rep) {
      for (const auto& point : points) {
        json params = json::object();
        for (const auto& o : c->description.at("options")) params[o.at("param").get<std::string>()] = o.at("default");
        std::vector<std::pair<std::string, std::string>> given;
        for (const auto& s : req.sets) {
          if (find_option(*c, s.first)) given.push_back(s);
        }
        for (const auto& p : point) given.push_back(p);  // a sweep overrides a --set of the same key
        std::vector<std::string> args;
        for (const auto& [key, text] : given) {
          const auto* o = find_option(*c, key);
          params[key] = typed_value(*o, text, c->name);
          args.push_back(o->at("name").get<std::string>());
          args.push_back(text);
        }
        for (const auto& v : variants) plan.push_back({c, v, params, args, point, rep});
      }
    }
  }
  return plan;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

namespace {

json median_of(const std::vector<const json*>& values) {
  const json& first = *values.front();
  if (first.is_object()) {
    json out = json::object();
    for (const auto& [key, v] : first.items()) {
      std::vector<const json*> sub;
      for (const auto* x : values) {
        if (x->is_object() && x->contains(key)) sub.push_back(&(*x)[key]);
      }
      out[key] = median_of(sub);
    }
    return out;
  }
  if (first.is_number() && !first.is_boolean()) {
    std::vector<double> nums;
    for (const auto* x : values) {
      if (x->is_number()) nums.push_back(x->get<double>());
    }
    const double m = median(nums);
    if (first.is_number_integer()) return static_cast<std::int64_t>(m);
    return m;
  }
  return first;
}

}  // namespace

json median_record(const std::vector<json>& records) {
  if (records.empty()) return json::object();
  std::vector<const json*> ptrs;
  for (const auto& r : records) ptrs.push_back(&r);
  json out = median_of(ptrs);
  out["params"] = records.front().at("params");  // parameters are equal by construction
  return out;
}

}  // namespace wb::runner
