#include "line_editor.hpp"

#include <cstdio>  // libedit's header uses FILE without including it
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <editline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

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

// Where the line handler of readline's callback interface leaves the line it
// is given: the callback takes no context of its own. Set only while
// read_line runs, as libedit's own state is process-wide anyway.
struct finished_line {
  bool done = false;
  std::optional<std::string> text;  // nullopt: end of input
};
finished_line* finished = nullptr;

// readline hands over a malloc'd line, or null at end of input.
void take_line(char* line) {
  const std::unique_ptr<char, free_deleter> owned(line);
  if (!finished)
    return;
  finished->done = true;
  if (owned)
    finished->text = std::string(owned.get());
}

} // namespace

std::filesystem::path default_history_file() {
  if (const char* file = std::getenv("TROUPE_HISTORY"); file && *file)
    return file;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".troupe_history";
  return {};
}

line_editor::line_editor(std::filesystem::path history_file, int interrupt_fd)
  : history_file_(std::move(history_file)), interrupt_fd_(interrupt_fd) {
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

// readline's callback interface, rather than readline(), so that this loop
// and not libedit decides what to wait for: a key, or an interrupt. libedit
// reads one key per rl_callback_read_char and calls take_line when a line is
// complete. Removing the handler leaves the terminal as it found it;
// installing it again starts an empty line and prints the prompt.
typed_input line_editor::read_line(const std::string& prompt) {
  using kind = typed_input::kind;
  finished_line line;
  finished = &line;
  rl_callback_handler_install(prompt.c_str(), take_line);
  const auto leave = [&](kind what) {
    rl_callback_handler_remove();
    finished = nullptr;
    if (what == kind::line && !line.text)
      what = kind::end;
    return typed_input{what, what == kind::line ? std::move(*line.text) : std::string()};
  };
  const int input = fileno(rl_instream ? rl_instream : stdin);
  for (;;) {
    pollfd watched[2] = {{input, POLLIN, 0}, {interrupt_fd_, POLLIN, 0}};
    const nfds_t count = interrupt_fd_ >= 0 ? 2 : 1;
    if (::poll(watched, count, -1) < 0) {
      if (errno == EINTR)
        continue;  // SIGWINCH, SIGCONT: libedit's own handlers did what they need
      return leave(kind::end);
    }
    if (count == 2 && (watched[1].revents & POLLIN)) {
      const auto dropped = leave(kind::interrupt);
      std::fputs("^C\n", rl_outstream ? rl_outstream : stdout);
      std::fflush(rl_outstream ? rl_outstream : stdout);
      return dropped;
    }
    if (watched[0].revents & POLLIN) {
      rl_callback_read_char();
      if (line.done)
        return leave(kind::line);
      continue;
    }
    if (watched[0].revents & (POLLHUP | POLLERR | POLLNVAL))
      return leave(kind::end);
  }
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
