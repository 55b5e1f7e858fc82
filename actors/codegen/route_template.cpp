#include "route_template.hpp"

#include <algorithm>

namespace troupe::codegen {

namespace {

// The gateway's rule (gateway/src/route_template.cpp): anything printable
// but these.
constexpr std::string_view forbidden_in_literal = "/:{}*?#% \t";

bool is_literal_char(char c) {
  return forbidden_in_literal.find(c) == std::string_view::npos
         && static_cast<unsigned char>(c) >= 0x20 && c != 0x7F;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '_';
  });
}

// FieldPath = IDENT { "." IDENT }
bool is_field_path(std::string_view s) {
  for (;;) {
    auto dot = s.find('.');
    if (!is_identifier(s.substr(0, dot)))
      return false;
    if (dot == std::string_view::npos)
      return true;
    s.remove_prefix(dot + 1);
  }
}

std::string quoted(std::string_view s) {
  return "\"" + std::string{s} + "\"";
}

bool parse_segment(std::string_view segment, route_template& out, std::string& error) {
  if (segment.empty()) {
    error = "empty path segment (\"//\" or a trailing \"/\")";
    return false;
  }
  if (segment == "*")
    return true;
  if (segment == "**") {
    error = "\"**\" is not supported: each segment matches exactly one path segment";
    return false;
  }
  if (segment.front() == '{') {
    if (segment.back() != '}') {
      error = "variable and literal text mixed in path segment " + quoted(segment);
      return false;
    }
    auto name = segment.substr(1, segment.size() - 2);
    if (!is_field_path(name)) {
      error = "variable " + quoted(segment) + " is not a field name";
      return false;
    }
    if (std::find(out.bindings.begin(), out.bindings.end(), name) != out.bindings.end()) {
      error = "variable {" + std::string{name} + "} appears twice";
      return false;
    }
    out.bindings.emplace_back(name);
    return true;
  }
  for (char c : segment) {
    if (!is_literal_char(c)) {
      error = "segment " + quoted(segment) + " is neither a literal, a \"{field}\" nor \"*\"";
      return false;
    }
  }
  return true;
}

} // namespace

std::optional<route_template> parse_route_template(std::string_view path,
                                                   std::string& error) {
  if (path.empty() || path.front() != '/') {
    error = "must start with \"/\"";
    return std::nullopt;
  }
  // Variables first: a sub-pattern may hold a "/" that the split below would
  // take for a segment boundary.
  for (auto open = path.find('{'); open != std::string_view::npos;
       open = path.find('{', open + 1)) {
    auto close = path.find('}', open);
    if (close == std::string_view::npos) {
      error = "unterminated variable " + quoted(path.substr(open));
      return std::nullopt;
    }
    auto variable = path.substr(open, close - open + 1);
    if (variable.find_first_of("=/*") != std::string_view::npos) {
      error = "variable " + quoted(variable)
              + " uses a sub-pattern, which is not supported; write {field}";
      return std::nullopt;
    }
  }
  route_template result;
  auto rest = path.substr(1);
  // The verb is a ':' in the last segment, after any variable in it.
  auto last_segment = rest.rfind('/') == std::string_view::npos ? 0 : rest.rfind('/') + 1;
  auto closing = rest.find('}', last_segment);
  auto colon = rest.find(':', closing == std::string_view::npos ? last_segment : closing);
  if (colon != std::string_view::npos) {
    auto verb = rest.substr(colon + 1);
    if (verb.empty() || !std::all_of(verb.begin(), verb.end(), is_literal_char)) {
      error = "custom verb " + quoted(verb) + " must be a non-empty literal";
      return std::nullopt;
    }
    result.verb = std::string{verb};
    rest = rest.substr(0, colon);
    if (rest.empty()) {
      error = "a verb needs a segment before it";
      return std::nullopt;
    }
  }
  if (rest.empty())
    return result;  // "/": the root path
  for (;;) {
    auto slash = rest.find('/');
    if (!parse_segment(rest.substr(0, slash), result, error))
      return std::nullopt;
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  return result;
}

} // namespace troupe::codegen
