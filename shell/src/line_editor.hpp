// Reading command lines from a terminal with line editing, history and
// completion of command names, through libedit's readline API. Key bindings
// can be changed in ~/.editrc under the program name "troupe".
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace troupe::shell {

/// The history file: $TROUPE_HISTORY when set and not empty, else
/// ~/.troupe_history; empty when neither HOME nor TROUPE_HISTORY is set.
std::filesystem::path default_history_file();

/// libedit keeps its state in process globals: have at most one line_editor
/// at a time.
class line_editor {
public:
  /// Loads the history from HISTORY_FILE; an empty path keeps no history.
  explicit line_editor(std::filesystem::path history_file);
  ~line_editor();
  line_editor(const line_editor&) = delete;
  line_editor& operator=(const line_editor&) = delete;

  /// The next line, without its line break; nullopt at end of input (Ctrl-D).
  std::optional<std::string> read_line(const std::string& prompt);

  /// Adds LINE, without blanks at its ends, to the history unless it is
  /// blank or repeats the last entry,
  /// and saves the history file at once, so an interrupted shell loses
  /// nothing. False when the file cannot be written.
  bool remember(const std::string& line);

private:
  std::filesystem::path history_file_;
  std::string last_entry_;
};

} // namespace troupe::shell
