#include "troupe/gateway/route_template.hpp"

#include "troupe/gateway/uri.hpp"

namespace troupe::gateway {

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

expected<request_path, std::string> request_path::parse(std::string_view raw_path) {
  request_path result;
  if (raw_path.empty() || raw_path.front() != '/')
    return unexpected(std::string{"the path must begin with '/'"});
  raw_path.remove_prefix(1);
  if (raw_path.empty())
    return result;  // "/": no segments
  std::string_view last;
  while (true) {
    auto slash = raw_path.find('/');
    if (slash == std::string_view::npos) {
      last = raw_path;
      break;
    }
    auto decoded = percent_decode(raw_path.substr(0, slash));
    if (!decoded)
      return unexpected(std::string{"malformed percent-encoding in the path"});
    result.segments.push_back(std::move(*decoded));
    raw_path.remove_prefix(slash + 1);
  }
  if (auto colon = last.rfind(':'); colon != std::string_view::npos) {
    auto verb = percent_decode(last.substr(colon + 1));
    if (!verb)
      return unexpected(std::string{"malformed percent-encoding in the path"});
    result.has_verb = true;
    result.verb = std::move(*verb);
    last = last.substr(0, colon);
  }
  auto decoded = percent_decode(last);
  if (!decoded)
    return unexpected(std::string{"malformed percent-encoding in the path"});
  result.segments.push_back(std::move(*decoded));
  return result;
}

expected<route_template, std::string> route_template::parse(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return unexpected(std::string{"bad route template \""} + std::string{text}
                      + "\": " + std::string{why});
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

  route_template result;
  result.text_ = std::string{text};
  std::string_view rest = text.substr(1);

  // The verb is whatever follows the first ':' of the last segment; ':' may
  // appear nowhere else, so that is also the first ':' of the template.
  if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    if (rest.find('/', colon) != std::string_view::npos)
      return fail("':' may only introduce a verb at the end of the last segment");
    auto verb = rest.substr(colon + 1);
    if (!is_literal(verb))
      return fail("the verb after ':' must be a non-empty literal");
    result.verb_ = std::string{verb};
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
      result.segments_.push_back({segment_kind::wildcard, {}});
    } else if (piece == "**") {
      return fail("\"**\" is not supported: each segment matches exactly one path segment");
    } else if (piece.front() == '{') {
      if (piece.back() != '}')
        return fail("a variable must be a whole segment, \"{field}\"");
      auto field = piece.substr(1, piece.size() - 2);
      if (field.find('=') != std::string_view::npos)
        return fail("\"{field=pattern}\" is not supported: a variable binds exactly one segment");
      if (!is_field_path(field))
        return fail("\"{" + std::string{field}
                    + "}\" is not a field path (identifiers separated by '.')");
      for (const auto& seen : result.segments_)
        if (seen.kind == segment_kind::variable && seen.text == field)
          return fail("field \"" + std::string{field} + "\" is bound twice");
      result.segments_.push_back({segment_kind::variable, std::string{field}});
    } else if (is_literal(piece)) {
      result.segments_.push_back({segment_kind::literal, std::string{piece}});
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

std::vector<std::string> route_template::variables() const {
  std::vector<std::string> names;
  for (const auto& seg : segments_)
    if (seg.kind == segment_kind::variable)
      names.push_back(seg.text);
  return names;
}

bool route_template::match(const request_path& path, path_bindings& bindings) const {
  if (path.segments.size() != segments_.size())
    return false;
  if (verb_.empty() ? path.has_verb : (!path.has_verb || path.verb != verb_))
    return false;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const auto& seg = segments_[i];
    const auto& value = path.segments[i];
    if (seg.kind == segment_kind::literal ? value != seg.text : value.empty())
      return false;
  }
  for (std::size_t i = 0; i < segments_.size(); ++i)
    if (segments_[i].kind == segment_kind::variable)
      bindings.emplace_back(segments_[i].text, path.segments[i]);
  return true;
}

bool route_template::same_shape(const route_template& other) const noexcept {
  if (verb_ != other.verb_ || segments_.size() != other.segments_.size())
    return false;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const auto& a = segments_[i];
    const auto& b = other.segments_[i];
    bool a_literal = a.kind == segment_kind::literal;
    bool b_literal = b.kind == segment_kind::literal;
    if (a_literal != b_literal || (a_literal && a.text != b.text))
      return false;
  }
  return true;
}

int route_template::compare_specificity(const route_template& other) const noexcept {
  auto n = std::min(segments_.size(), other.segments_.size());
  for (std::size_t i = 0; i < n; ++i) {
    bool a_literal = segments_[i].kind == segment_kind::literal;
    bool b_literal = other.segments_[i].kind == segment_kind::literal;
    if (a_literal != b_literal)
      return a_literal ? -1 : 1;
  }
  return 0;
}

} // namespace troupe::gateway
