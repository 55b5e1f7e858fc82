#include "utf8.hpp"

namespace troupe::gateway {

namespace {

/// Length of the well-formed UTF-8 sequence at the start of `text`; 0 when it
/// is malformed (RFC 3629, table 3-7 of the Unicode standard).
std::size_t sequence_length(std::string_view text) noexcept {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  auto continuation = [&](std::size_t i, unsigned char lo = 0x80,
                          unsigned char hi = 0xBF) {
    return i < text.size() && byte(i) >= lo && byte(i) <= hi;
  };
  unsigned char b0 = byte(0);
  if (b0 < 0x80)
    return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    return continuation(1) ? 2 : 0;
  if (b0 == 0xE0)
    return continuation(1, 0xA0) && continuation(2) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF)
    return continuation(1) && continuation(2) ? 3 : 0;
  if (b0 == 0xED)  // excludes the surrogates U+D800..U+DFFF
    return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0;
  if (b0 == 0xF0)
    return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3)
    return continuation(1) && continuation(2) && continuation(3) ? 4 : 0;
  if (b0 == 0xF4)
    return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0;
  return 0;
}

} // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  while (!text.empty()) {
    auto n = sequence_length(text);
    if (n == 0)
      return false;
    text.remove_prefix(n);
  }
  return true;
}

std::string printable_utf8(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  while (!text.empty()) {
    auto n = sequence_length(text);
    if (out.size() + (n == 0 ? 1 : n) > max_bytes) {
      out += "...";
      break;
    }
    if (n == 0 || static_cast<unsigned char>(text[0]) < 0x20 || text[0] == 0x7F) {
      out.push_back('?');
      text.remove_prefix(n == 0 ? 1 : n);
    } else {
      out.append(text.substr(0, n));
      text.remove_prefix(n);
    }
  }
  return out;
}

} // namespace troupe::gateway
