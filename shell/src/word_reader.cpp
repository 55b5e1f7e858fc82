#include "word_reader.hpp"

#include <algorithm>

#include "errors.hpp"

namespace troupe::shell {

namespace {

constexpr std::string_view blanks = " \t\r\n\v\f";

bool is_blank(char c) {
  return blanks.find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos)
    return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

} // namespace

std::string_view word_reader::rest() const noexcept {
  return trim(rest_);
}

std::optional<std::string> word_reader::next() {
  rest_ = rest();
  if (rest_.empty())
    return std::nullopt;

  std::string word;
  std::size_t i = 0;
  while (i < rest_.size() && !is_blank(rest_[i])) {
    const char c = rest_[i];
    if (c == '\'') {
      const auto close = rest_.find('\'', i + 1);
      if (close == std::string_view::npos)
        throw usage_error("unterminated ' quote");
      word.append(rest_.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (c == '"') {
      ++i;
      for (;;) {
        if (i >= rest_.size())
          throw usage_error("unterminated \" quote");
        const char q = rest_[i];
        if (q == '"') {
          ++i;
          break;
        }
        if (q == '\\' && i + 1 < rest_.size() && (rest_[i + 1] == '"' || rest_[i + 1] == '\\')) {
          word += rest_[i + 1];
          i += 2;
        } else {
          word += q;
          ++i;
        }
      }
    } else if (c == '\\' && i + 1 < rest_.size()) {
      word += rest_[i + 1];  // a bare backslash escapes any next character
      i += 2;
    } else {
      word += c;
      ++i;
    }
  }
  rest_.remove_prefix(i);
  return word;
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  word_reader reader(line);
  while (auto word = reader.next())
    words.push_back(std::move(*word));
  return words;
}

std::string quote_word(std::string_view text) {
  const bool plain = !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
    return is_blank(c) || c == '\'' || c == '"' || c == '\\';
  });
  if (plain)
    return std::string(text);
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'')
      quoted += "'\\''";  // close, an escaped quote, reopen
    else
      quoted += c;
  }
  return quoted + "'";
}

} // namespace troupe::shell
