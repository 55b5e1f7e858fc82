#include "uri.hpp"

namespace troupe::gateway {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i])
      return false;
  }
  return true;
}

} // namespace

std::optional<request_target> split_target(std::string_view target) {
  // absolute-form (RFC 9112 3.2.2): drop "scheme://authority".
  for (std::string_view scheme : {"http://", "https://"}) {
    if (starts_with_ignoring_case(target, scheme)) {
      target.remove_prefix(scheme.size());
      auto path_start = target.find_first_of("/?");
      if (path_start == std::string_view::npos)
        return request_target{"/", {}};
      target.remove_prefix(path_start);
      if (target.front() == '?')
        return request_target{"/", target.substr(1)};
      break;
    }
  }
  if (target.empty() || target.front() != '/')
    return std::nullopt;
  request_target result;
  auto question = target.find('?');
  result.path = target.substr(0, question);
  if (question != std::string_view::npos)
    result.query = target.substr(question + 1);
  return result;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size())
        return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

expected<std::vector<query_parameter>, std::string>
parse_query(std::string_view query) {
  std::vector<query_parameter> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (piece.empty())
      continue;
    auto eq = piece.find('=');
    auto raw_name = piece.substr(0, eq);
    auto raw_value = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    auto name = percent_decode(raw_name, true);
    if (!name)
      return unexpected(std::string{"malformed percent-encoding in query parameter '"}
                        + std::string{raw_name} + "'");
    auto value = percent_decode(raw_value, true);
    if (!value)
      return unexpected(std::string{"malformed percent-encoding in the value of query parameter '"}
                        + *name + "'");
    params.push_back({std::move(*name), std::move(*value)});
  }
  return params;
}

} // namespace troupe::gateway
