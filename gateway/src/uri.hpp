// Taking an HTTP request target apart: path and query (RFC 9112 origin-form,
// or absolute-form as proxies send it), percent-decoding, query parameters.
// Beast parses the request line; these only split the target it returns.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expected.hpp"

namespace troupe::gateway {

/// A request target split at the first '?'. Both views point into the target.
struct request_target {
  std::string_view path;   // begins with '/', still percent-encoded
  std::string_view query;  // without the '?'; empty when there is none
};

/// Splits "/a/b?x=1" or "http://host/a/b?x=1". nullopt when the target has
/// no absolute path ("*", "a/b", "http://host" without a path is "/").
std::optional<request_target> split_target(std::string_view target);

/// Decodes %XX escapes. With `plus_as_space` (query strings, as HTML forms
/// send them) '+' decodes to ' '. nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text,
                                          bool plus_as_space = false);

struct query_parameter {
  std::string name;   // decoded
  std::string value;  // decoded; empty for "name" and "name="
};

/// Splits "a=1&b=x%20y" into decoded name/value pairs, in order. Empty pieces
/// ("a=1&&b=2") are skipped. The error names the malformed parameter.
expected<std::vector<query_parameter>, std::string>
parse_query(std::string_view query);

} // namespace troupe::gateway
