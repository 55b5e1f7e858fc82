// An HTTP/1.1 client for integration tests that can also misbehave: send any
// bytes, pipeline, stop mid-body. Responses are parsed by Beast. Its
// connection also serves tests of other protocols as a plain TCP client.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace troupe::test {

struct http_response {
  int status = 0;
  unsigned version = 0;  // 11 for HTTP/1.1
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool keep_alive = false;

  std::string header(const std::string& lower_name) const {
    auto i = headers.find(lower_name);
    return i == headers.end() ? std::string{} : i->second;
  }
};

/// One TCP connection to 127.0.0.1:port.
class raw_connection {
public:
  explicit raw_connection(std::uint16_t port);
  ~raw_connection();

  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  /// Writes the bytes as they are.
  void send(const std::string& bytes);

  /// Reads one response; nullopt when the peer closed or `timeout` passed.
  /// `to_head`: the response answers a HEAD request, so it has no body
  /// whatever its Content-Length says.
  std::optional<http_response> read_response(
    std::chrono::milliseconds timeout = std::chrono::seconds{20}, bool to_head = false);

  /// True when the server closes the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds{20});

  /// Reads whatever the peer sends until it closes the connection (then
  /// `closed` is true) or `timeout` passes.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool& closed);

  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Formats a request with Host, Content-Length (when a body is given) and
/// the extra header lines.
std::string make_request(const std::string& method, const std::string& target,
                         const std::string& body = {},
                         const std::vector<std::string>& extra_headers = {},
                         const std::string& content_type = "application/json");

/// One request on a fresh connection.
http_response http_call(std::uint16_t port, const std::string& method,
                        const std::string& target, const std::string& body = {},
                        const std::vector<std::string>& extra_headers = {});

} // namespace troupe::test
