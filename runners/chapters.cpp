#include "runners/chapters.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>

#include "common/files.hpp"
#include "common/process.hpp"
#include "common/usage_error.hpp"

namespace wb::runner {

using nlohmann::json;

std::vector<ChapterEntry> load_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("no chapter manifest at " + path + " (build first: scripts/setup && ninja -C build)");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw UsageError("manifest " + path + " is not JSON: " + e.what());
  }
  std::vector<ChapterEntry> out;
  for (const auto& e : doc) out.push_back({e.at("name").get<std::string>(), e.at("exe").get<std::string>(), json()});
  return out;
}

json describe_chapter(const ChapterEntry& c) {
  wb::TempDir tmp("wb-describe");
  wb::ProcessSpec spec;
  spec.argv = {c.exe, "--describe"};
  spec.stdout_path = tmp.file("out");
  spec.stderr_path = tmp.file("err");
  spec.timeout = std::chrono::seconds(30);
  const auto r = wb::run_process(spec);
  if (!r.ok()) {
    throw std::runtime_error("chapter " + c.name + " (" + c.exe + ") --describe failed: " + r.describe() + " " +
                             wb::read_text_file(tmp.file("err")));
  }
  return json::parse(wb::read_text_file(tmp.file("out")));
}

const ChapterEntry& find_chapter(std::vector<ChapterEntry>& chapters, const std::string& name) {
  for (auto& c : chapters) {
    if (c.name == name) return c;
  }
  std::string known;
  for (const auto& c : chapters) known += " " + c.name;
  throw UsageError("no chapter named \"" + name + "\"; known:" + known);
}

}  // namespace wb::runner
