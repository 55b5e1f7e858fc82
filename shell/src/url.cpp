#include "url.hpp"

#include <algorithm>
#include <charconv>

#include "errors.hpp"

namespace troupe::shell {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_unreserved(char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
  });
}

[[noreturn]] void reject(std::string_view text, std::string_view why) {
  throw usage_error("bad URL '" + std::string(text) + "': " + std::string(why));
}

} // namespace

std::string base_url::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string base_url::to_string() const {
  return "http://" + authority();
}

base_url parse_base_url(std::string_view text) {
  constexpr std::string_view expected = "expected http://HOST:PORT";
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    reject(text, expected);
  const auto scheme = text.substr(0, scheme_end);
  if (iequals(scheme, "https"))
    reject(text, "https is not supported yet; use http://HOST:PORT");
  if (!iequals(scheme, "http"))
    reject(text, expected);

  auto rest = text.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  if (authority_end != std::string_view::npos && rest.substr(authority_end) != "/")
    reject(text, "a base URL has no path, query or fragment");
  if (authority.find('@') != std::string_view::npos)
    reject(text, "user information is not supported");

  base_url url;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      reject(text, "unterminated IPv6 address");
    const auto address = authority.substr(1, close - 1);
    if (address.empty() || address.find(':') == std::string_view::npos
        || !std::all_of(address.begin(), address.end(),
                        [](char c) { return is_hex(c) || c == ':' || c == '.'; }))
      reject(text, "bad IPv6 address");
    url.host = std::string(address);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':'))
        reject(text, expected);
      port_text = after.substr(1);
      if (port_text.empty())
        reject(text, "empty port");
    }
  } else {
    const auto colon = authority.find(':');
    const auto host = authority.substr(0, colon);
    if (host.empty())
      reject(text, "no host");
    if (!std::all_of(host.begin(), host.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; }))
      reject(text, "bad host name");
    url.host = std::string(host);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty())
        reject(text, "empty port");
    }
  }

  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
      reject(text, "port must be a number from 1 to 65535");
    url.port = static_cast<std::uint16_t>(port);
  }
  return url;
}

std::string percent_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += digits[byte >> 4];
      out += digits[byte & 0xF];
    }
  }
  return out;
}

} // namespace troupe::shell
