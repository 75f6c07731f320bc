// A program's typed options, declared once each: a long name, the variable it sets (whose value
// at registration is the default), a range or a list of choices, a unit and a help line.  From
// that one declaration come the command-line option (CLI11, with its check), the value as JSON
// (in records), the value as a command-line word (to run the same program again in a child),
// and the option's description (a chapter's --describe).  The chapters' knobs are Options, and
// so are the options of chapter 05's http-server.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace wb {

class Options {
 public:
  // An integer in [min, max], or a number in [min, max], in `unit`.
  void add(const std::string& name, std::int64_t& var, const std::string& help, std::int64_t min, std::int64_t max,
           const std::string& unit);
  void add(const std::string& name, double& var, const std::string& help, double min, double max,
           const std::string& unit);
  // One of `choices`.
  void add(const std::string& name, std::string& var, const std::string& help, const std::vector<std::string>& choices);
  // A free-form string (a path, a host); `check` may throw (UsageError) with the message to show.
  void add_text(const std::string& name, std::string& var, const std::string& help,
                std::function<void(const std::string&)> check = {});

  // Adds every option to `app`, each with its check.
  void add_to(CLI::App& app) const;
  // {"size_kib": 256, ...}: every option's current value by its parameter name.
  nlohmann::json values() const;
  // {"--size-kib", "256", ...}: the current values as command-line words (empty texts left out).
  std::vector<std::string> args() const;
  // One object per option: name, param, type, default, help, and unit, min, max, choices.
  nlohmann::json describe() const;

 private:
  struct Option {
    std::string name;   // "--size-kib"
    std::string param;  // "size_kib"
    std::string help, unit, type;
    nlohmann::json def, min, max;
    std::vector<std::string> choices;
    std::function<nlohmann::json()> value;
    std::function<std::string()> as_arg;
    std::function<CLI::Option*(CLI::App&)> add;
  };
  std::vector<Option> options_;
};

// "--size-kib" -> "size_kib": an option's parameter name in records and in the runner's
// --set / --sweep.
std::string snake_case(const std::string& option);

// A text option's check that its value names an existing directory: a UsageError naming the
// option otherwise.
std::function<void(const std::string&)> must_be_directory(const std::string& option);

}  // namespace wb
