#include "route_grammar.hpp"

namespace troupe::route {

namespace {

constexpr std::string_view forbidden_in_literal = "/:{}*?#% \t";

bool is_ident_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_ident_char(char c) noexcept {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}

bool is_field_path(std::string_view path) noexcept {
  bool at_start = true;
  for (char c : path) {
    if (c == '.') {
      if (at_start)
        return false;
      at_start = true;
    } else if (at_start ? is_ident_start(c) : is_ident_char(c)) {
      at_start = false;
    } else {
      return false;
    }
  }
  return !at_start;
}

bool is_literal(std::string_view text) noexcept {
  if (text.empty())
    return false;
  for (char c : text)
    if (forbidden_in_literal.find(c) != std::string_view::npos
        || static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      return false;
  return true;
}

} // namespace

std::optional<parsed_template> parse_template(std::string_view text, std::string& error) {
  auto fail = [&](std::string_view why) -> std::optional<parsed_template> {
    error = std::string{"bad route template \""} + std::string{text} + "\": "
            + std::string{why};
    return std::nullopt;
  };
  if (text.empty() || text.front() != '/')
    return fail("must begin with '/'");

  // Checked before the template is split at '/', which patterns may hold.
  for (auto open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    auto close = text.find('}', open);
    if (close != std::string_view::npos
        && text.substr(open, close - open).find('=') != std::string_view::npos)
      return fail("\"{field=pattern}\" is not supported: a variable binds exactly one segment");
  }

  parsed_template result;
  std::string_view rest = text.substr(1);

  // The verb is whatever follows the first ':' of the last segment; ':' may
  // appear nowhere else, so that is also the first ':' of the template.
  if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    if (rest.find('/', colon) != std::string_view::npos)
      return fail("':' may only introduce a verb at the end of the last segment");
    auto verb = rest.substr(colon + 1);
    if (!is_literal(verb))
      return fail("the verb after ':' must be a non-empty literal");
    result.verb = std::string{verb};
    rest = rest.substr(0, colon);
    if (rest.empty())
      return fail("a verb needs a segment before it");
  }

  if (rest.empty())
    return result;  // "/": matches the root path only

  while (true) {
    auto slash = rest.find('/');
    auto piece = rest.substr(0, slash);
    if (piece.empty())
      return fail("empty segment (\"//\" or a trailing '/')");
    if (piece == "*") {
      result.segments.push_back({segment_kind::wildcard, {}});
    } else if (piece == "**") {
      return fail("\"**\" is not supported: each segment matches exactly one path segment");
    } else if (piece.front() == '{') {
      if (piece.back() != '}')
        return fail("a variable must be a whole segment, \"{field}\"");
      auto field = piece.substr(1, piece.size() - 2);
      if (!is_field_path(field))
        return fail("\"{" + std::string{field}
                    + "}\" is not a field path (identifiers separated by '.')");
      for (const auto& seen : result.segments)
        if (seen.kind == segment_kind::variable && seen.text == field)
          return fail("field \"" + std::string{field} + "\" is bound twice");
      result.segments.push_back({segment_kind::variable, std::string{field}});
    } else if (is_literal(piece)) {
      result.segments.push_back({segment_kind::literal, std::string{piece}});
    } else {
      return fail("segment \"" + std::string{piece}
                  + "\" is neither a literal, a \"{field}\" nor \"*\"");
    }
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  return result;
}

} // namespace troupe::route
