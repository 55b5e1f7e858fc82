// A route's path template, parsed by the shared grammar in
// actors/route/route_grammar.hpp (also used by protoc-gen-troupe), in the
// spirit of google.api.http:
//
//   Template  = "/" [ Segment { "/" Segment } ] [ ":" Verb ]
//   Segment   = LITERAL | "{" FieldPath "}" | "*"
//   FieldPath = IDENT { "." IDENT }
//
// A variable and "*" each match exactly one non-empty path segment; the
// google.api.http forms "**" and "{field=pattern}" are refused. Literals and
// the verb may not contain '/', ':', '{', '}', '*', '?', '#', '%' or spaces.
//
// How a request path is matched (see request_path):
//  - the path is split at '/'; then the last segment is split at its LAST
//    literal ':' into value and verb. A template with a verb matches only a
//    path with that verb; a template without one matches only a path whose
//    last segment has no literal ':'.
//  - segments are percent-decoded after splitting, so "%2F" and "%3A" are data.
//    Consequently a key containing ':' must be sent as %3A when it is the last
//    segment of a route without a verb: GET /v1/counters/a%3Ab binds key
//    "a:b", while GET /v1/counters/a:b is taken as key "a" with verb "b" (and
//    matches no route without that verb). Where the template has a verb the
//    key may hold ':' unencoded: /v1/counters/a:b:add binds key "a:b".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "route_grammar.hpp"  // actors/route: the grammar itself
#include "expected.hpp"

namespace troupe::gateway {

/// A request path taken apart the way templates see it (rules above).
struct request_path {
  std::vector<std::string> segments;  // decoded
  bool has_verb = false;              // the last segment had a literal ':'
  std::string verb;                   // decoded; may be empty ("/a/b:")

  /// Splits and decodes a raw (still percent-encoded) path that starts with
  /// '/'. The error says what is malformed (a bad %XX escape).
  static expected<request_path, std::string> parse(std::string_view raw_path);
};

/// Values bound by a template's variables: (field path, decoded value), in
/// template order.
using path_bindings = std::vector<std::pair<std::string, std::string>>;

class route_template {
public:
  using segment_kind = route::segment_kind;
  using segment = route::segment;

  /// The error is one line naming the fault and where it is.
  static expected<route_template, std::string> parse(std::string_view text);

  /// The template as written.
  const std::string& text() const noexcept {
    return text_;
  }
  const std::vector<segment>& segments() const noexcept {
    return segments_;
  }
  /// The custom verb without its ':'; empty when the template has none.
  const std::string& verb() const noexcept {
    return verb_;
  }
  /// Field paths of the variables, in template order.
  std::vector<std::string> variables() const;

  /// Appends the bindings and returns true when `path` matches.
  bool match(const request_path& path, path_bindings& bindings) const;

  /// True when both templates match exactly the same paths (variables may be
  /// named differently): two routes of one HTTP method with the same shape
  /// are a conflict.
  bool same_shape(const route_template& other) const noexcept;

  /// Orders two templates that match one path: the one with a literal at the
  /// leftmost position where they differ is more specific and wins. Negative
  /// when *this is more specific, positive when `other` is, 0 when neither.
  int compare_specificity(const route_template& other) const noexcept;

private:
  std::string text_;
  std::vector<segment> segments_;
  std::string verb_;
};

} // namespace troupe::gateway
