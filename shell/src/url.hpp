// The address of the node the shell talks to, and the percent-encoding of the
// values the shell puts into admin API paths and queries.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::shell {

/// A node's base URL: `http://HOST[:PORT]`, optionally followed by "/".
struct base_url {
  std::string host;          // a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 80;

  /// As a user writes it: "http://127.0.0.1:8080", "http://[::1]:8080".
  std::string to_string() const;

  /// The value of the Host header: "127.0.0.1:8080", "[::1]:8080".
  std::string authority() const;

  friend bool operator==(const base_url&, const base_url&) = default;
};

/// Parses TEXT strictly: scheme `http` (https is refused until the gateway's
/// TLS is in place), a non-empty host, a port in 1..65535, no user info, no
/// path beyond "/", no query or fragment. Throws usage_error naming the fault.
base_url parse_base_url(std::string_view text);

/// TEXT with every byte outside RFC 3986's unreserved set (ALPHA DIGIT - . _ ~)
/// written as %XX, so it is safe as one path segment or one query value.
std::string percent_encode(std::string_view text);

} // namespace troupe::shell
