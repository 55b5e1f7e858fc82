// Reading command lines from a terminal with line editing, history and
// completion of command names, through libedit's readline API. Key bindings
// can be changed in ~/.editrc under the program name "troupe". The editor
// waits for a key and for an interrupt (Ctrl-C) at once, so that Ctrl-C
// drops the line being typed without ending the shell.
#pragma once

#include <filesystem>
#include <string>

namespace troupe::shell {

/// The history file: $TROUPE_HISTORY when set and not empty, else
/// ~/.troupe_history; empty when neither HOME nor TROUPE_HISTORY is set.
std::filesystem::path default_history_file();

/// What read_line got.
struct typed_input {
  enum class kind {
    line,       // a line ended with Enter: `text`, without its line break
    interrupt,  // Ctrl-C: the line being typed is dropped
    end,        // Ctrl-D at an empty prompt, or the terminal went away
  };
  kind what = kind::end;
  std::string text;
};

/// libedit keeps its state in process globals: have at most one line_editor
/// at a time.
class line_editor {
public:
  /// Loads the history from HISTORY_FILE; an empty path keeps no history.
  /// INTERRUPT_FD, unless -1, is a descriptor that turns readable on Ctrl-C
  /// (interrupts::fd()); the editor only watches it, never reads it.
  explicit line_editor(std::filesystem::path history_file, int interrupt_fd = -1);
  ~line_editor();
  line_editor(const line_editor&) = delete;
  line_editor& operator=(const line_editor&) = delete;

  /// Shows PROMPT and reads the next line from standard input, a terminal.
  /// Returns an interrupt as soon as INTERRUPT_FD is readable, leaving the
  /// terminal on a fresh line; the caller consumes the interrupt.
  typed_input read_line(const std::string& prompt);

  /// Adds LINE, without blanks at its ends, to the history unless it is
  /// blank or repeats the last entry,
  /// and saves the history file at once, so an interrupted shell loses
  /// nothing. False when the file cannot be written.
  bool remember(const std::string& line);

private:
  std::filesystem::path history_file_;
  int interrupt_fd_;
  std::string last_entry_;
};

} // namespace troupe::shell
