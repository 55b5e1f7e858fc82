#include "route_template.hpp"

#include <algorithm>

#include "uri.hpp"

namespace troupe::gateway {


expected<request_path, std::string> request_path::parse(std::string_view raw_path) {
  request_path result;
  if (raw_path.empty() || raw_path.front() != '/')
    return unexpected(std::string{"the path must begin with '/'"});
  raw_path.remove_prefix(1);
  if (raw_path.empty())
    return result;  // "/": no segments
  // One allocation for the segments rather than one per doubling.
  result.segments.reserve(static_cast<size_t>(std::count(raw_path.begin(), raw_path.end(), '/')) + 1);
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
  std::string error;
  auto parsed = route::parse_template(text, error);
  if (!parsed)
    return unexpected(std::move(error));
  route_template result;
  result.text_ = std::string{text};
  result.segments_ = std::move(parsed->segments);
  result.verb_ = std::move(parsed->verb);
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
