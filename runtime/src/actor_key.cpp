#include "actor_key.hpp"

#include <cstdint>
#include <cstdio>

namespace troupe::runtime {

namespace {

struct code_point {
  std::uint32_t value = 0;
  std::size_t length = 0;  // 0: malformed
};

/// The code point at the start of `text` (non-empty), by RFC 3629 and table
/// 3-7 of the Unicode standard: no overlongs, no surrogates, nothing past
/// U+10FFFF.
code_point decode(std::string_view text) noexcept {
  auto byte = [&](std::size_t i) -> std::uint32_t {
    return static_cast<unsigned char>(text[i]);
  };
  auto continuation = [&](std::size_t i, std::uint32_t lo = 0x80, std::uint32_t hi = 0xBF) {
    return i < text.size() && byte(i) >= lo && byte(i) <= hi;
  };
  auto tail = [&](std::size_t i) { return byte(i) & 0x3F; };
  std::uint32_t b0 = byte(0);
  if (b0 < 0x80)
    return {b0, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF && continuation(1))
    return {(b0 & 0x1F) << 6 | tail(1), 2};
  std::uint32_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
  std::uint32_t hi = b0 == 0xED ? 0x9F : 0xBF;
  if (b0 >= 0xE0 && b0 <= 0xEF && continuation(1, lo, hi) && continuation(2))
    return {(b0 & 0x0F) << 12 | tail(1) << 6 | tail(2), 3};
  lo = b0 == 0xF0 ? 0x90 : 0x80;
  hi = b0 == 0xF4 ? 0x8F : 0xBF;
  if (b0 >= 0xF0 && b0 <= 0xF4 && continuation(1, lo, hi) && continuation(2)
      && continuation(3))
    return {(b0 & 0x07) << 18 | tail(1) << 12 | tail(2) << 6 | tail(3), 4};
  return {0, 0};
}

bool is_control(std::uint32_t c) noexcept {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

std::string hex(const char* format, std::uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, format, static_cast<unsigned>(value));
  return buf;
}

status refuse(std::string_view key, const std::string& why) {
  return {status_code::invalid_argument, "the actor key \"" + escaped_key(key) + "\" " + why};
}

} // namespace

std::string escaped_key(std::string_view key, std::size_t max_chars) {
  std::string out;
  for (std::size_t chars = 0; !key.empty(); ++chars) {
    if (chars == max_chars) {
      out += "...";
      break;
    }
    auto c = decode(key);
    if (c.length == 0) {
      out += hex("\\x%02X", static_cast<unsigned char>(key[0]));
      key.remove_prefix(1);
      continue;
    }
    if (is_control(c.value))
      out += hex("\\u%04X", c.value);
    else if (c.value == '"' || c.value == '\\')
      out.append({'\\', static_cast<char>(c.value)});
    else
      out.append(key.substr(0, c.length));
    key.remove_prefix(c.length);
  }
  return out;
}

status validate_key(std::string_view key) {
  if (key.empty())
    return {status_code::invalid_argument, "the actor key is empty"};
  if (key.size() > max_key_bytes)
    return refuse(key, "is " + std::to_string(key.size()) + " bytes long; a key has at most "
                         + std::to_string(max_key_bytes));
  std::string_view rest = key;
  while (!rest.empty()) {
    auto first = static_cast<unsigned char>(rest[0]);
    if (first >= 0x20 && first < 0x7F) {  // printable ASCII: most keys are only that
      rest.remove_prefix(1);
      continue;
    }
    auto c = decode(rest);
    if (c.length == 0)
      return refuse(key, "is not valid UTF-8 (byte " + hex("0x%02X", first) + " at offset "
                           + std::to_string(key.size() - rest.size())
                           + "); a key is UTF-8 text");
    if (is_control(c.value))
      return refuse(key, "holds the control character " + hex("U+%04X", c.value)
                           + "; a key is text without control characters");
    rest.remove_prefix(c.length);
  }
  return {};
}

} // namespace troupe::runtime
