// The chapters this build has: the manifest Meson writes (build/chapters.json) — the runner
// keeps no list of its own — and each chapter's --describe output.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runners/plan.hpp"

namespace wb::runner {

// The manifest's chapters (name, executable); throws UsageError when it is missing or not JSON.
std::vector<ChapterEntry> load_manifest(const std::string& path);

// Runs CHAPTER --describe; throws std::runtime_error with the chapter's stderr when it fails.
nlohmann::json describe_chapter(const ChapterEntry& c);

// The chapter of that name; throws UsageError naming the known ones when there is none.
const ChapterEntry& find_chapter(std::vector<ChapterEntry>& chapters, const std::string& name);

}  // namespace wb::runner
