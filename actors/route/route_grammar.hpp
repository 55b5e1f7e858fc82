// The path-template grammar of troupe.HttpRule (troupe/options.proto), in the
// spirit of google.api.http:
//
//   Template  = "/" [ Segment { "/" Segment } ] [ ":" Verb ]
//   Segment   = LITERAL | "{" FieldPath "}" | "*"
//   FieldPath = IDENT { "." IDENT }
//
// A variable and "*" each stand for exactly one non-empty path segment; the
// google.api.http forms "**" and "{field=pattern}" are refused. Literals and
// the verb may not contain '/', ':', '{', '}', '*', '?', '#', '%' or spaces.
//
// One parser for the two places that read templates: protoc-gen-troupe, so
// that a template the node would refuse fails the module's build, and the
// gateway, which matches requests against it (gateway/route_template).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::route {

enum class segment_kind { literal, variable, wildcard };

struct segment {
  segment_kind kind;
  std::string text;  // literal: the literal; variable: the field path
};

struct parsed_template {
  std::vector<segment> segments;
  std::string verb;  // without its ':'; empty when the template has none
};

/// Parses `text`. On a malformed template returns nothing and sets `error`
/// to one line: `bad route template "TEXT": WHY`.
std::optional<parsed_template> parse_template(std::string_view text, std::string& error);

} // namespace troupe::route
