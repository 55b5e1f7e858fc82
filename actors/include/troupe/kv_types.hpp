// The values a STATELESS service's key-value storage deals in
// (troupe/key_value.hpp): an entry as read, a page of a scan, and, for the
// runtime, the operations of a write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "troupe/status.hpp"

namespace troupe {

/// One key as stored.
struct kv_entry {
  std::string key;
  /// The key's write count: 1 after the first put, one more with each put;
  /// an erase starts it over. A conditional write names the version it
  /// expects (put_if, erase_if).
  std::uint64_t version = 0;
  std::string value;

  /// The value parsed as `Message`; nullopt when it does not parse.
  template <class Message>
  std::optional<Message> as() const {
    Message m;
    if (!m.ParseFromString(value))
      return std::nullopt;
    return m;
  }
};

/// One page of a scan, in key order.
struct kv_page {
  std::vector<kv_entry> entries;
  /// Where the next page starts (kv_scan_options::after); empty when the
  /// scan has nothing after this page.
  std::string next;
};

struct kv_scan_options {
  /// Only keys after this one: the `next` of the previous page.
  std::string after;
  /// Entries per page, 1 to kv_max_scan_limit.
  std::uint32_t limit = 100;
};

/// The bounds of key-value storage. A call past one fails: invalid_argument
/// for keys, limits and batch sizes, resource_exhausted for values.
inline constexpr std::size_t kv_max_key_bytes = 1024;
inline constexpr std::size_t kv_max_value_bytes = std::size_t{1} << 20;
inline constexpr std::uint32_t kv_max_scan_limit = 1000;
inline constexpr std::size_t kv_max_batch_operations = 1000;

namespace detail {

/// One operation of a key-value write.
struct kv_op {
  enum class kind : std::uint8_t { put, erase };
  kind what = kind::put;
  std::string key;
  std::string value;  // put
  /// The version the key must have for the write to happen (0: absent);
  /// none: any.
  std::optional<std::uint64_t> expected;
};

using kv_get_callback = std::function<void(status, kv_entry)>;  // version 0: absent
using kv_scan_callback = std::function<void(status, kv_page)>;
using kv_write_callback = std::function<void(status)>;

} // namespace detail

} // namespace troupe
