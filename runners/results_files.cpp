#include "runners/results_files.hpp"

#include <algorithm>
#include <iostream>

#include "common/record.hpp"
#include "runners/metrics.hpp"

namespace wb::runner {

using nlohmann::json;

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

json load_results(const std::string& path) {
  try {
    return read_results(path);
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
}

json descriptions_for(const json& doc, const json& current) {
  json descriptions = chapter_descriptions(doc);
  for (const auto& [name, desc] : current.items()) {
    const bool in_file = std::any_of(doc["trials"].begin(), doc["trials"].end(),
                                     [&](const json& t) { return t.value("chapter", "") == name; });
    if (in_file) descriptions[name] = desc;
  }
  return descriptions;
}

}  // namespace wb::runner
