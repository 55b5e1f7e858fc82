// JSON as text the shell shows or sends. The shell does not know the
// message types of the services it calls: it reads their JSON as plain JSON
// (nlohmann::ordered_json), which keeps object members in the order they
// came, so a reply shows its fields in the order of the message's
// declaration, as the node prints them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace troupe::shell {

/// Why TEXT is not one JSON value, in the parser's words; nullopt when it is.
std::optional<std::string> json_syntax_error(std::string_view text);

/// TEXT laid out for people: two-space indent, one member per line, object
/// members in their order in TEXT. TEXT unchanged when it is not JSON.
/// Integers keep every digit; other numbers pass through a double.
std::string pretty_json(std::string_view text);

/// The member NAME of the JSON object TEXT, as compact JSON text with its
/// object members in their order in TEXT; nullopt when TEXT is not an object
/// or has no such member.
std::optional<std::string> json_member(std::string_view text, std::string_view name);

} // namespace troupe::shell
