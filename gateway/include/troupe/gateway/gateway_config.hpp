// How the node's HTTP gateway listens, what it accepts and the bounds it
// keeps under load. Filled from flags and the config file by `troupe node`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace troupe::gateway {

struct gateway_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;                  // 0: any free port
  std::size_t io_threads = 0;                 // 0: one per two cores (at least 1)
  std::size_t max_body_bytes = 1 << 20;       // 413 above
  std::size_t max_header_bytes = 16 << 10;    // 431 above
  std::chrono::milliseconds request_timeout{15'000};   // default deadline (504)
  std::chrono::milliseconds idle_connection_timeout{60'000};  // keep-alive idle: closed
  std::chrono::milliseconds read_timeout{30'000};      // a response's write; a body's arrival
                                                       // when min_request_rate is 0
  std::chrono::milliseconds shutdown_timeout{10'000};  // drain deadline

  // -- bounds under load (README, "Running a node") ----------------------------

  /// Connections open at once; past it a new connection is answered 503 and
  /// closed. 0: default_max_connections().
  std::size_t max_connections = 0;
  /// Bytes of request bodies held at once across all connections: a body
  /// that does not fit waits, unread, until others are released.
  /// At least max_body_bytes.
  std::size_t max_body_memory = std::size_t{64} << 20;
  /// A request's header section must arrive whole within this from its first
  /// byte (a new connection's first request: from the accept); else 408.
  std::chrono::milliseconds header_timeout{10'000};
  /// Bytes per second a body must keep up on average once `min_request_rate_grace` has
  /// passed since its header; a slower client gets 408. 0: no rate, the body
  /// must arrive within read_timeout.
  std::size_t min_request_rate = 1024;
  std::chrono::milliseconds min_request_rate_grace{5'000};
};

/// The connection limit when max_connections is 0, from the soft limit S on
/// file descriptors (RLIMIT_NOFILE, taken as at most 2^20):
///   S - S/4 - 256, and at least S/4.
/// The reserve (S/4 + 256) leaves descriptors for what the node opens
/// itself: modules, its log, CAF's sockets and pipes, the data directory's
/// files (RocksDB's tables grow with the data), connections being refused.
std::size_t default_max_connections();

/// The same for a given soft limit.
std::size_t max_connections_for_descriptors(std::uint64_t soft_limit);

/// Request header by which a client shortens (never lengthens) its deadline,
/// in milliseconds.
inline constexpr const char* timeout_header = "X-Troupe-Timeout-Ms";

} // namespace troupe::gateway
