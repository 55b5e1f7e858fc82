// Dotted field paths ("page.token") into a protobuf message type, as route
// templates, body rules and query parameters name them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "expected.hpp"

namespace google::protobuf {
class Descriptor;
class FieldDescriptor;
} // namespace google::protobuf

namespace troupe::gateway {

/// The fields along `path`, outermost first. Every part but the last must be a
/// singular message field. Parts match a field's proto name or, when
/// `accept_json_names`, its JSON name ("pageSize" for page_size). The error
/// names the part that does not resolve and the message type searched.
expected<std::vector<const google::protobuf::FieldDescriptor*>, std::string>
resolve_field_path(const google::protobuf::Descriptor& type, std::string_view path,
                   bool accept_json_names = false);

/// True for fields that take one value from a string: not repeated, not a
/// message, not a map.
bool is_singular_scalar(const google::protobuf::FieldDescriptor& field) noexcept;

} // namespace troupe::gateway
