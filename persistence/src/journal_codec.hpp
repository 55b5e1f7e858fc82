// How an event journal is stored, in the column family "journal:<service>":
//   key    [the actor key's bytes][u8 0][u64 event number, big endian]
//   value  [u8 event format = 1][the event message's bytes]
// Big-endian numbers after a zero byte make a key's events one contiguous,
// ordered range ([key 0x00, key 0x01)), read with one iterator. An actor key
// holding a zero byte would make ranges overlap, so the store refuses one in
// a journal. The latest snapshot is the key's value in the service's state
// family (value_codec.hpp), its version the number of the last event it
// holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::persistence {

inline constexpr std::uint8_t event_format = 1;

/// The stored key of event `seq` of `key`'s journal.
std::string event_key(std::string_view key, std::uint64_t seq);

/// Where `key`'s journal ends: every event key of `key` sorts below it.
std::string journal_end(std::string_view key);

/// The event number of `stored_key` when it is an event key of `key`.
std::optional<std::uint64_t> event_seq(std::string_view stored_key, std::string_view key);

/// The stored value of an event.
std::string encode_event(std::string_view bytes);

/// The event message's bytes in `value`; nullopt when it is not of this
/// format.
std::optional<std::string_view> decode_event(std::string_view value);

/// The smallest key greater than every key that starts with `prefix`; empty
/// when there is none (an empty prefix, or one of 0xff bytes only).
std::string prefix_end(std::string_view prefix);

} // namespace troupe::persistence
