// Columns of text lined up for a terminal, as the list commands print them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace troupe::shell {

class text_table {
public:
  enum class alignment { left, right };

  struct column {
    std::string header;
    alignment align = alignment::left;
  };

  explicit text_table(std::vector<column> columns);

  /// One cell per column: missing cells are blank, extra cells are dropped.
  void add_row(std::vector<std::string> cells);

  std::size_t rows() const noexcept { return rows_.size(); }

  /// The header line, then one line per row, each ending in '\n'. Columns
  /// are two spaces apart and as wide as their widest cell in characters
  /// (UTF-8 aware); lines carry no trailing blanks. Control characters in
  /// cells are shown as '?', so a name cannot move the cursor.
  std::string render() const;

private:
  std::vector<column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

/// TEXT with control characters shown as '?', so that text from the node
/// cannot move the cursor or recolour the terminal.
std::string printable(std::string text);

/// A length of time in its two largest units, the second left out when it is
/// zero: "42s", "5m 3s", "2h", "3d 4h".
std::string format_duration(long long seconds);

/// Milliseconds as people say them: "250ms", "10s", "1.5s", "2m 30s".
std::string format_millis(long long millis);

} // namespace troupe::shell
