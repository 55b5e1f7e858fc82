#include "value_codec.hpp"

namespace troupe::persistence {

std::string encode_value(std::uint64_t version, std::string_view bytes) {
  std::string out;
  out.reserve(value_header_bytes + bytes.size());
  out.push_back(static_cast<char>(value_format));
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((version >> (8 * i)) & 0xff));
  out.append(bytes);
  return out;
}

std::optional<decoded_value> decode_value(std::string_view value) {
  if (value.size() < value_header_bytes
      || static_cast<std::uint8_t>(value[0]) != value_format)
    return std::nullopt;
  std::uint64_t version = 0;
  for (int i = 0; i < 8; ++i)
    version |= std::uint64_t{static_cast<std::uint8_t>(value[1 + i])} << (8 * i);
  return decoded_value{version, value.substr(value_header_bytes)};
}

} // namespace troupe::persistence
