// Turning away a connection the server will not serve: over the connection
// limit, or accepted on the spare descriptor when the process ran out. The
// client gets a 503 problem document (Retry-After: 1, Connection: close,
// "reasons" as /readyz gives them) written at once, without reading its
// request, and the connection is closed.
//
// A close with unread input resets the connection, and a reset can reach
// the client before it read the 503. So the refusal reads and discards what
// has arrived, shuts down its side, and then, if few refusals are lingering
// (max_lingering_refusals), keeps reading and discarding for up to a second
// until the client closes; otherwise it closes at once. Refusals hold at
// most that many descriptors beyond the connection limit.
#pragma once

#include <cstddef>
#include <string>

#include "http_connection.hpp"  // http_socket
#include "http_message.hpp"

namespace troupe::gateway::detail {

struct server_state;

/// Refusals that may linger at once.
inline constexpr std::size_t max_lingering_refusals = 64;

/// The reason a connection is refused, as /readyz words it.
std::string connection_limit_reason(std::size_t max_connections);
inline constexpr const char* descriptors_reason = "out of file descriptors";

class connection_refuser {
public:
  explicit connection_refuser(std::shared_ptr<server_state> state);

  /// Answers `socket` 503 for `reason` (connection_limit_reason() or
  /// descriptors_reason) and closes it, lingering when `may_linger` and few
  /// refusals linger. Counts it in connections_refused. The socket's thread.
  void refuse(http_socket socket, const std::string& reason, bool may_linger);

private:
  http_response response_for(const std::string& reason);

  std::shared_ptr<server_state> state_;
  // The answers built so far, by reason (two at most): printing the problem
  // document per refusal would cost more than the refusal itself.
  std::string limit_reason_;
  http_response limit_response_;
  http_response descriptors_response_;
};

} // namespace troupe::gateway::detail
