// A node's HTTP gateway: the routes of the node's services (from their
// troupe.http options) and the built-in endpoints (/healthz, /readyz, the
// admin API), served by an http_server. `troupe node` makes one per node:
//
//   troupe::gateway::gateway http{node, config};
//   http.start();                       // throws std::runtime_error
//   ... SIGTERM ...
//   http.drain(steady_clock::now() + config.shutdown_timeout);
//   http.stop();
//   node.stop();
//
// GET /healthz answers {"status":"ok"} while the process serves HTTP at all;
// GET /readyz answers {"status":"ready"}, or a 503 problem document whose
// "reasons" say why not: draining, a bound of the gateway reached (the
// connection limit, descriptors, body memory), or a readiness check added
// with add_readiness_check() failing (the runtime's load shedding).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "troupe/gateway/gateway_config.hpp"

namespace troupe::runtime {
class node;
} // namespace troupe::runtime

namespace troupe::gateway {

/// Why the node should get no new traffic now (a short phrase, e.g. "calls
/// in flight limit reached (256)"), or empty while it is fine. Called on an
/// I/O thread for each /readyz (and GET /admin/v1/node): must be
/// thread-safe, cheap, and must not block.
using readiness_check = std::function<std::string()>;

class gateway {
public:
  /// `node` must be started before start() and outlive the gateway.
  gateway(runtime::node& node, gateway_config config);

  /// Calls stop().
  ~gateway();

  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// Builds the routes, binds, and starts serving. Throws std::runtime_error
  /// whose what() is one line naming the fault: a bad or conflicting route,
  /// or an address that cannot be bound. Nothing is left running after a
  /// throw.
  void start();

  /// Adds a check that /readyz consults; before start(). The gateway's own
  /// bounds are checked without one.
  void add_readiness_check(readiness_check check);

  /// The bound address as "host:port" ("[::1]:8080" for IPv6), with the
  /// real port when config.port was 0. Empty before start().
  std::string endpoint() const;

  /// The bound port; 0 before start().
  std::uint16_t port() const;

  /// Graceful shutdown (see http_server::drain): stops accepting, /readyz
  /// answers 503, new calls are refused with 503, calls in progress finish,
  /// responses carry Connection: close, idle connections are closed. At
  /// `deadline` the calls still in progress are answered 503. Returns when
  /// every request read has been answered: true when all finished by the
  /// deadline, false when some were cut short (or, after a short grace, could
  /// not be written). Blocks the calling thread, which must not be one of the
  /// gateway's.
  bool drain(std::chrono::steady_clock::time_point deadline);

  /// Stops serving at once; responses still owed are dropped. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::gateway
