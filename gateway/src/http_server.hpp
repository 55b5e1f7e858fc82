// The gateway's HTTP/1.1 server, on Boost.Beast: asynchronous, keep-alive,
// pipelined requests answered in order (the next request is read only after
// the previous response is written), `io_threads` threads each running its
// own io_context, each connection served by one of them. It knows nothing of
// routes: every whole request goes to the request_handler; the server itself
// answers only what precedes routing:
//   400  malformed request line or header fields (then closes), or a bad
//        X-Troupe-Timeout-Ms
//   413  body over max_body_bytes (Content-Length checked before the body is
//        read; then closes)
//   431  header section over max_header_bytes (then closes)
//   504  the request's deadline passed before the handler answered
//   503  the request was still in progress when drain()'s deadline came
//   408  the header took longer than header_timeout, or the body came slower
//        than min_request_rate (after min_request_rate_grace); then closes
//   503  at the connection limit (written at once, without reading the
//        request; then closes), or a body that waited read_timeout for memory
// Timeouts: header_timeout for a new connection's first request header and
// for any header once its first byte came; idle_connection_timeout between
// keep-alive requests (then the connection is closed without a response);
// read_timeout for a response to be written.
//
// Bounds (README "Running a node"):
//   connections   at most max_connections open (default from RLIMIT_NOFILE);
//                 past it, and when accept() finds no descriptor (answered on
//                 a spare one kept for that), new connections get a 503 and
//                 are closed (connection_refusal.hpp).
//   body memory   bodies take their bytes from one body_budget of
//                 max_body_memory before they are read; one that does not fit
//                 waits unread (back-pressure). Clients that stop sending are
//                 dropped by the rate rule, so the budget cannot stay held.
// bounds_reached() words the bounds reached now, for /readyz.
// A request that was read but whose response is not yet written is "in
// progress": drain() waits for those.
//
// Request log: one line per response written (its method, route template or
// path, status, duration, body bytes, trace id) at debug level, and at info
// for a 5xx; built only when the logger's level takes it.
#pragma once

#include <utility>  // before Boost.Asio under -std=c++20

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "troupe/gateway/gateway_config.hpp"
#include "http_message.hpp"
#include "responder.hpp"

namespace troupe::runtime {
class logger;
} // namespace troupe::runtime

namespace troupe::gateway {

/// What the server knows about a request besides the message itself.
struct request_context {
  /// When the client stops waiting: request_timeout from arrival, shortened
  /// by X-Troupe-Timeout-Ms. Wall clock, because deadlines travel between
  /// nodes in envelopes.
  std::chrono::system_clock::time_point deadline;
  /// drain() was called: the node is shutting down.
  bool draining = false;
  /// Which I/O thread runs the handler (0 .. io_threads() - 1), for state
  /// a handler keeps per thread to share nothing between them.
  std::size_t io_thread = 0;
  /// Set by the handler: the template of the route that matched (e.g.
  /// "/v1/counters/{key}"), for the request log, which then names it instead
  /// of the path. Must stay valid as long as the server.
  std::string_view route;
  /// The client's "address:port", for audit logs; valid during the handler
  /// call only (copy it to keep it).
  std::string_view client_address;
};

/// Runs on an I/O thread once per request. Must not block; answers through
/// the responder, now or later. Exceptions it throws become a 500.
using request_handler = std::function<void(const http_request&, request_context&, responder)>;

/// How a drain() ended.
struct drain_outcome {
  /// Every request in progress was answered by the deadline.
  bool completed = true;
  /// Requests still in progress at the deadline, answered 503.
  std::size_t answered_unavailable = 0;
  /// Requests whose answer could not be written within a short grace after
  /// the deadline (the client stopped reading): their connections are
  /// closed by stop().
  std::size_t abandoned = 0;
};

/// The server's use of its bounds, now and since start.
struct server_load {
  std::size_t connections_open = 0;
  std::size_t max_connections = 0;
  std::uint64_t connections_refused = 0;
  std::size_t body_bytes_in_flight = 0;
  std::size_t max_body_memory = 0;
  std::size_t body_reads_paused = 0;
  std::uint64_t slow_clients_dropped = 0;
};

class http_server {
public:
  /// `log` must outlive the server.
  http_server(gateway_config config, request_handler handler, runtime::logger& log);

  /// Calls stop().
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds config.host:config.port (port 0: any free port), listens, and
  /// returns the bound address. Throws std::system_error naming the failed
  /// step and the address.
  boost::asio::ip::tcp::endpoint listen();

  /// Starts the I/O threads and accepting connections. Call after listen().
  void start();

  /// How many I/O threads serve requests (config.io_threads, or the default).
  std::size_t io_threads() const noexcept;

  /// The bound address; meaningful after listen().
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  bool draining() const noexcept;

  /// Any thread.
  server_load load() const noexcept;

  /// Appends, for each bound the server is at now, why it turns work away:
  /// "connection limit reached (N)", "out of file descriptors" (for a second
  /// after accept() last failed so), "request body memory budget reached (N
  /// bytes)" (a body waits). Any thread.
  void bounds_reached(std::vector<std::string>& reasons) const;

  /// Graceful shutdown, from a thread that is not an I/O thread: stops
  /// accepting, closes connections that wait for their next request, and
  /// lets the others finish the request in progress and the requests already
  /// pipelined behind it (answered 503 by the handler, which sees
  /// `draining`); the last response of each carries Connection: close. At
  /// `deadline` every request still in progress is answered 503 (with
  /// Retry-After, Connection: close) and requests only partly received are
  /// dropped with their connection. Returns once every request read has been
  /// answered, or a short grace after the deadline for answers a client does
  /// not take.
  drain_outcome drain(std::chrono::steady_clock::time_point deadline);

  /// Stops at once: later responses are dropped, connections closed, I/O
  /// threads joined. Idempotent; not from an I/O thread.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::gateway
