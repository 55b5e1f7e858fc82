// How one key's state is stored as a RocksDB value:
//   [u8 value format = 1][u64 version, little endian][state bytes]
// The version is the write's own (replaces + 1), so a replica applying the
// write can check it against what it holds; the format byte lets a later
// layout (a tombstone that keeps its version, compression) live beside this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::persistence {

inline constexpr std::uint8_t value_format = 1;
inline constexpr std::size_t value_header_bytes = 9;

/// The stored value for `bytes` written as `version`.
std::string encode_value(std::uint64_t version, std::string_view bytes);

struct decoded_value {
  std::uint64_t version;
  std::string_view bytes;  // points into the decoded input
};

/// nullopt when `value` is not of this format (too short, another format byte).
std::optional<decoded_value> decode_value(std::string_view value);

} // namespace troupe::persistence
