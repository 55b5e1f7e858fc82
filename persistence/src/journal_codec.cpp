#include "journal_codec.hpp"

namespace troupe::persistence {

std::string event_key(std::string_view key, std::uint64_t seq) {
  std::string out;
  out.reserve(key.size() + 9);
  out.append(key);
  out.push_back('\0');
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  return out;
}

std::string journal_end(std::string_view key) {
  std::string out{key};
  out.push_back('\1');
  return out;
}

std::optional<std::uint64_t> event_seq(std::string_view stored_key, std::string_view key) {
  if (stored_key.size() != key.size() + 9 || !stored_key.starts_with(key)
      || stored_key[key.size()] != '\0')
    return std::nullopt;
  std::uint64_t seq = 0;
  for (std::size_t i = key.size() + 1; i < stored_key.size(); ++i)
    seq = (seq << 8) | static_cast<std::uint8_t>(stored_key[i]);
  return seq;
}

std::string encode_event(std::string_view bytes) {
  std::string out;
  out.reserve(1 + bytes.size());
  out.push_back(static_cast<char>(event_format));
  out.append(bytes);
  return out;
}

std::optional<std::string_view> decode_event(std::string_view value) {
  if (value.empty() || static_cast<std::uint8_t>(value[0]) != event_format)
    return std::nullopt;
  return value.substr(1);
}

std::string prefix_end(std::string_view prefix) {
  std::string out{prefix};
  while (!out.empty()) {
    auto last = static_cast<std::uint8_t>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

} // namespace troupe::persistence
