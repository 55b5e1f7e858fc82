// The path template of an rpc's HTTP route (troupe.HttpRule in
// troupe/options.proto), parsed only as far as the plugin needs to check it:
//
//   Template = "/" [ Segment { "/" Segment } ] [ ":" Verb ]
//   Segment  = LITERAL | "{" FieldPath "}" | "*"
//
// The gateway's parser (gateway/src/route_template.cpp) is the reference; this
// one, kept here because actors/ may not depend on gateway/, accepts the same
// templates, so a route that would not load fails the build, not the node.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::codegen {

struct route_template {
  /// The `{FieldPath}` variables in order of appearance, e.g. "key", "a.b".
  std::vector<std::string> bindings;
  /// The custom verb after the last segment ("add" in "/v1/c/{key}:add").
  std::string verb;
};

/// Parses `path`. On a malformed template returns nothing and sets `error` to
/// a sentence naming the fault.
std::optional<route_template> parse_route_template(std::string_view path,
                                                   std::string& error);

} // namespace troupe::codegen
