#include "line_editor.hpp"

#include <cstdio>  // libedit's header uses FILE without including it
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include <editline/readline.h>
#include <fcntl.h>
#include <unistd.h>

#include "command.hpp"

namespace troupe::shell {

namespace {

constexpr int history_entries = 1000;

struct free_deleter {
  void operator()(char* p) const noexcept { std::free(p); }
};

char* copy_for_readline(std::string_view text) {
  auto* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy) {
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
  }
  return copy;
}

// Completes the first word with a command name and offers nothing later in
// the line (libedit would otherwise offer file names). The result follows
// readline's contract: a malloc'd, null-terminated array that readline frees,
// whose first entry replaces the word and whose other entries, if any, are
// the candidates to list.
char** complete_command(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;
  if (start != 0)
    return nullptr;
  const std::string_view prefix(text);
  std::vector<std::string_view> matches;
  for (const auto name : command_names)
    if (name.starts_with(prefix))
      matches.push_back(name);
  if (matches.empty())
    return nullptr;

  // One match is the whole answer; several are preceded by their common prefix.
  if (matches.size() > 1) {
    std::string_view common = matches.front();
    for (const auto match : matches) {
      std::size_t n = 0;
      while (n < common.size() && n < match.size() && common[n] == match[n])
        ++n;
      common = common.substr(0, n);
    }
    matches.insert(matches.begin(), common);
  }

  auto** array = static_cast<char**>(std::calloc(matches.size() + 1, sizeof(char*)));
  if (!array)
    return nullptr;
  for (std::size_t i = 0; i < matches.size(); ++i)
    array[i] = copy_for_readline(matches[i]);
  return array;
}

} // namespace

std::filesystem::path default_history_file() {
  if (const char* file = std::getenv("TROUPE_HISTORY"); file && *file)
    return file;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".troupe_history";
  return {};
}

line_editor::line_editor(std::filesystem::path history_file)
  : history_file_(std::move(history_file)) {
  rl_readline_name = "troupe";
  rl_attempted_completion_function = complete_command;
  using_history();
  stifle_history(history_entries);
  if (!history_file_.empty())
    read_history(history_file_.c_str());  // a missing file is an empty history
  if (history_length > 0)
    if (const HIST_ENTRY* last = history_get(history_base + history_length - 1))
      last_entry_ = last->line;
}

line_editor::~line_editor() {
  clear_history();
  rl_attempted_completion_function = nullptr;
}

std::optional<std::string> line_editor::read_line(const std::string& prompt) {
  const std::unique_ptr<char, free_deleter> line(readline(prompt.c_str()));
  if (!line)
    return std::nullopt;
  return std::string(line.get());
}

bool line_editor::remember(const std::string& typed) {
  const auto first = typed.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return true;
  const auto line = typed.substr(first, typed.find_last_not_of(" \t\r\n") - first + 1);
  if (line == last_entry_)
    return true;
  add_history(line.c_str());
  last_entry_ = line;
  if (history_file_.empty())
    return true;
  // Commands may carry keys and payloads: a new history file is private.
  if (const int fd = ::open(history_file_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      fd >= 0)
    ::close(fd);
  return write_history(history_file_.c_str()) == 0;
}

} // namespace troupe::shell
