#include "runners/journal.hpp"

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "common/record.hpp"

namespace wb::runner {

using nlohmann::json;

namespace {

void write_all(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "cannot write " + path);
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string results_text(const json& header, const std::vector<std::string>& trial_lines) {
  json head = header;
  head.erase("trials");
  std::string text = head.dump(1);  // "{\n ... \n}"
  text.pop_back();                  // the closing brace
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  text += head.empty() ? "\n \"trials\": [" : ",\n \"trials\": [";
  for (std::size_t i = 0; i < trial_lines.size(); ++i) {
    text += i ? ",\n  " : "\n  ";
    text += trial_lines[i];
  }
  text += trial_lines.empty() ? "]\n}\n" : "\n ]\n}\n";
  return text;
}

ResultsJournal::ResultsJournal(std::string out, json context, json chapters)
    : out_(std::move(out)), journal_(out_ + ".journal"), header_(wb::make_results(context, json::array(), chapters)) {
  fd_ = ::open(journal_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + journal_);
  json first = header_;
  first.erase("trials");
  write_all(fd_, first.dump() + "\n", journal_);
  ::fsync(fd_);
}

ResultsJournal::~ResultsJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void ResultsJournal::add(const json& trial) {
  lines_.push_back(trial.dump());
  write_all(fd_, lines_.back() + "\n", journal_);
  ::fdatasync(fd_);
  const auto now = std::chrono::steady_clock::now();
  const auto wait = std::max<std::chrono::steady_clock::duration>(std::chrono::seconds(1), 20 * last_write_took_);
  if (lines_.size() == 1 || now - last_write_ >= wait) write_results(json::object());
}

void ResultsJournal::write_results(const json& extra) {
  const auto t0 = std::chrono::steady_clock::now();
  json header = header_;
  header.update(extra);
  wb::write_file_atomically(out_, results_text(header, lines_));
  last_write_ = std::chrono::steady_clock::now();
  last_write_took_ = last_write_ - t0;
}

void ResultsJournal::finish(const json& extra) {
  write_results(extra);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(journal_.c_str());
  }
}

RecoveredResults recover_results(const std::string& out) {
  const std::string journal = out + ".journal";
  std::ifstream in(journal);
  if (!in) throw std::runtime_error("no journal " + journal + " to recover " + out + " from");
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(journal + " is empty");
  json header;
  try {
    header = json::parse(line);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(journal + ": the first line is not a results header: " + e.what());
  }
  if (!header.is_object() || !header.contains("schema"))
    throw std::runtime_error(journal + ": the first line is JSON but not a results header (no \"schema\")");
  RecoveredResults r;
  std::vector<std::string> lines;
  while (std::getline(in, line)) {
    // The line the kill cut off, and anything after it, is not a trial to trust.
    if (r.dropped > 0 || !json::accept(line) || !json::parse(line).is_object()) {
      ++r.dropped;
      continue;
    }
    lines.push_back(line);
  }
  wb::write_file_atomically(out, results_text(header, lines));
  r.trials = lines.size();
  return r;
}

}  // namespace wb::runner
