// JSON as text the shell shows or sends. The shell does not know the
// message types of the services it calls, so it reads their JSON through
// protobuf's google.protobuf.Value, which holds any JSON value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace troupe::shell {

/// Why TEXT is not one JSON value, in the parser's words; nullopt when it is.
std::optional<std::string> json_syntax_error(std::string_view text);

/// TEXT laid out for people: two-space indent, one member per line, object
/// members sorted by name (the JSON itself says nothing of their order).
/// TEXT unchanged when it is not JSON. Numbers pass through a double, which
/// keeps every value proto3's JSON mapping writes as a number (64-bit
/// integers are strings there).
std::string pretty_json(std::string_view text);

} // namespace troupe::shell
