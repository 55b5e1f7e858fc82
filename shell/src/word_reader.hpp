// Splits a shell line into words the way a POSIX shell would for simple
// input, while keeping the unread rest of the line available as raw text:
// `call` takes its JSON argument verbatim, blanks and quotes included.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::shell {

/// Reads words off the front of a line. A word is a run of non-blank
/// characters; inside '...' every character is literal, inside "..." a
/// backslash escapes `"` and `\`; quoted and bare parts join into one word
/// (a'b c'd is "ab cd"). "" and '' give an empty word.
class word_reader {
public:
  explicit word_reader(std::string_view line) noexcept : rest_(line) {}

  /// The next word, unquoted; nullopt at the end of the line. Throws
  /// usage_error on an unterminated quote.
  std::optional<std::string> next();

  /// The unread text, blanks at both ends removed.
  std::string_view rest() const noexcept;

  bool at_end() const noexcept { return rest().empty(); }

private:
  std::string_view rest_;
};

/// Every word of LINE. Throws usage_error on an unterminated quote.
std::vector<std::string> split_words(std::string_view line);

/// TEXT quoted so that word_reader reads it back as one word; unchanged when
/// it needs no quotes.
std::string quote_word(std::string_view text);

} // namespace troupe::shell
