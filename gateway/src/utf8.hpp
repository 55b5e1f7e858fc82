// UTF-8 checks for text that ends up in protobuf string fields or in JSON
// documents: proto3 string fields must hold valid UTF-8, and so must every
// string the gateway echoes back to a client (paths, field names).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace troupe::gateway {

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing
/// above U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// `text` made safe to quote in an error message: malformed bytes and control
/// characters become '?', and it is cut to at most `max_bytes` (plus "...").
std::string printable_utf8(std::string_view text, std::size_t max_bytes = 200);

} // namespace troupe::gateway
