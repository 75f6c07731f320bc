#include "common/options.hpp"

#include <algorithm>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "common/format.hpp"
#include "common/usage_error.hpp"

namespace wb {

using nlohmann::json;

std::string snake_case(const std::string& option) {
  std::string s = option.substr(option.find_first_not_of('-'));
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

void Options::add(const std::string& name, std::int64_t& var, const std::string& help, std::int64_t min,
                  std::int64_t max, const std::string& unit) {
  Option o{name, snake_case(name), help, unit, "int", var, min, max, {}, {}, {}, {}};
  o.value = [&var] { return json(var); };
  o.as_arg = [&var] { return std::to_string(var); };
  o.add = [&var, name, help, min, max](CLI::App& app) {
    return app.add_option(name, var, help)->check(CLI::Range(min, max))->capture_default_str();
  };
  options_.push_back(std::move(o));
}

void Options::add(const std::string& name, double& var, const std::string& help, double min, double max,
                  const std::string& unit) {
  Option o{name, snake_case(name), help, unit, "float", var, min, max, {}, {}, {}, {}};
  o.value = [&var] { return json(var); };
  o.as_arg = [&var] { return exact_number(var); };
  o.add = [&var, name, help, min, max](CLI::App& app) {
    return app.add_option(name, var, help)->check(CLI::Range(min, max))->capture_default_str();
  };
  options_.push_back(std::move(o));
}

void Options::add(const std::string& name, std::string& var, const std::string& help,
                  const std::vector<std::string>& choices) {
  Option o{name, snake_case(name), help, "", "choice", var, nullptr, nullptr, choices, {}, {}, {}};
  o.value = [&var] { return json(var); };
  o.as_arg = [&var] { return var; };
  o.add = [&var, name, help, choices](CLI::App& app) {
    return app.add_option(name, var, help)->check(CLI::IsMember(choices))->capture_default_str();
  };
  options_.push_back(std::move(o));
}

void Options::add_text(const std::string& name, std::string& var, const std::string& help,
                       std::function<void(const std::string&)> check) {
  Option o{name, snake_case(name), help, "", "text", var, nullptr, nullptr, {}, {}, {}, {}};
  o.value = [&var] { return json(var); };
  o.as_arg = [&var] { return var; };
  o.add = [&var, name, help, check](CLI::App& app) {
    auto* opt = app.add_option(name, var, help);
    if (check) {
      opt->check(CLI::Validator(
          [check](std::string& s) -> std::string {
            try {
              check(s);
              return {};
            } catch (const std::exception& e) {
              return e.what();
            }
          },
          "TEXT"));
    }
    return opt;
  };
  options_.push_back(std::move(o));
}

void Options::add_to(CLI::App& app) const {
  for (const auto& o : options_) o.add(app);
}

json Options::values() const {
  json v = json::object();
  for (const auto& o : options_) v[o.param] = o.value();
  return v;
}

std::vector<std::string> Options::args() const {
  std::vector<std::string> a;
  for (const auto& o : options_) {
    const auto v = o.as_arg();
    if (o.type == "text" && v.empty()) continue;
    a.push_back(o.name);
    a.push_back(v);
  }
  return a;
}

json Options::describe() const {
  json all = json::array();
  for (const auto& o : options_) {
    json d = {{"name", o.name}, {"param", o.param}, {"type", o.type}, {"default", o.def}, {"help", o.help}};
    if (!o.unit.empty()) d["unit"] = o.unit;
    if (!o.min.is_null()) d["min"] = o.min;
    if (!o.max.is_null()) d["max"] = o.max;
    if (!o.choices.empty()) d["choices"] = o.choices;
    all.push_back(std::move(d));
  }
  return all;
}

std::function<void(const std::string&)> must_be_directory(const std::string& option) {
  return [option](const std::string& d) {
    std::error_code ec;
    if (!std::filesystem::is_directory(d, ec)) throw UsageError(option + " " + d + " is not a directory");
  };
}

}  // namespace wb
