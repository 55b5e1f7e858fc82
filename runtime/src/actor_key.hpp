// What an actor key of a keyed service may hold. One rule for every way a
// call arrives (gateway route, admin API, shell, call_context::call, later
// other nodes), applied where a keyed call is resolved to its actor.
//
// A key is non-empty UTF-8 text of at most max_key_bytes bytes without
// control characters:
//   - C0 (U+0000..U+001F), DEL (U+007F) and C1 (U+0080..U+009F) are refused:
//     keys are printed in logs, problem documents and the shell, where a NUL
//     cuts text short and escape sequences (ESC, CSI U+009B) drive terminals;
//   - malformed UTF-8 (overlongs, surrogates, past U+10FFFF) is refused: the
//     key travels in proto3 string fields (the request's `key`, the admin
//     API) and in JSON, neither of which can carry it;
//   - every other code point is allowed, spaces and non-ASCII letters
//     included.
// The bound keeps a key a cheap map key and log field; 1 KiB is far above
// the ids and names keys are made of.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "troupe/status.hpp"

namespace troupe::runtime {

inline constexpr std::size_t max_key_bytes = 1024;

/// Ok for a key that keeps the rule above; otherwise invalid_argument whose
/// message shows the key (escaped, cut short) and says what is wrong.
status validate_key(std::string_view key);

/// `key` as it may be quoted in a message: control characters as \u00XX,
/// malformed bytes as \xXX, backslash and quote escaped, cut after
/// `max_chars` characters (then "...").
std::string escaped_key(std::string_view key, std::size_t max_chars = 64);

} // namespace troupe::runtime
