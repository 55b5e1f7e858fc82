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
// Timeouts: read_timeout for a request to arrive whole once its first byte
// came (and for the first request of a connection), idle_timeout between
// keep-alive requests; on either the connection is closed without a response.
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
#include <string_view>

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
