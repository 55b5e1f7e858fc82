#include "text_table.hpp"

#include <algorithm>

namespace troupe::shell {

namespace {

// Characters on screen: UTF-8 continuation bytes take no column. (Wide CJK
// characters take two; admin names are rarely written in them.)
std::size_t width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

} // namespace

std::string printable(std::string text) {
  for (char& c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F)
      c = '?';
  }
  return text;
}

text_table::text_table(std::vector<column> columns) : columns_(std::move(columns)) {}

void text_table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (auto& cell : cells)
    cell = printable(std::move(cell));
  rows_.push_back(std::move(cells));
}

std::string text_table::render() const {
  std::vector<std::size_t> widths(columns_.size());
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    widths[i] = width(columns_[i].header);
    for (const auto& row : rows_)
      widths[i] = std::max(widths[i], width(row[i]));
  }

  std::string out;
  const auto append_line = [&](auto cell_at) {
    std::string line;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      const std::string& cell = cell_at(i);
      const std::string pad(widths[i] - width(cell), ' ');
      if (i > 0)
        line += "  ";
      if (columns_[i].align == alignment::right)
        line += pad + cell;
      else
        line += cell + pad;
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  };
  append_line([&](std::size_t i) -> const std::string& { return columns_[i].header; });
  for (const auto& row : rows_)
    append_line([&](std::size_t i) -> const std::string& { return row[i]; });
  return out;
}

std::string format_duration(long long seconds) {
  if (seconds < 0)
    seconds = 0;
  const long long days = seconds / 86'400;
  const long long hours = seconds % 86'400 / 3'600;
  const long long minutes = seconds % 3'600 / 60;
  const long long secs = seconds % 60;
  const auto two = [](long long a, const char* ua, long long b, const char* ub) {
    auto text = std::to_string(a) + ua;
    if (b != 0)
      text += " " + std::to_string(b) + ub;
    return text;
  };
  if (days > 0)
    return two(days, "d", hours, "h");
  if (hours > 0)
    return two(hours, "h", minutes, "m");
  if (minutes > 0)
    return two(minutes, "m", secs, "s");
  return std::to_string(secs) + "s";
}

std::string format_millis(long long millis) {
  if (millis < 0)
    millis = 0;
  if (millis < 1'000)
    return std::to_string(millis) + "ms";
  if (millis % 1'000 == 0)
    return format_duration(millis / 1'000);
  if (millis < 60'000 && millis % 100 == 0)
    return std::to_string(millis / 1'000) + "." + std::to_string(millis % 1'000 / 100) + "s";
  return std::to_string(millis) + "ms";
}

} // namespace troupe::shell
