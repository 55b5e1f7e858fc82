// How the node's HTTP gateway listens and what it accepts. Filled from flags
// and the config file by `troupe node`.
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
  std::chrono::milliseconds idle_timeout{60'000};      // keep-alive idle
  std::chrono::milliseconds read_timeout{30'000};      // one request's arrival
  std::chrono::milliseconds shutdown_timeout{10'000};  // drain deadline
};

/// Request header by which a client shortens (never lengthens) its deadline,
/// in milliseconds.
inline constexpr const char* timeout_header = "X-Troupe-Timeout-Ms";

} // namespace troupe::gateway
