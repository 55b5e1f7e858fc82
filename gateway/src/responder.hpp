// Where the response to one HTTP request goes. The server hands one to the
// request handler; the handler answers through it right away or later, from
// any thread (a call's completion arrives on an actor-system thread).
//
// The responder only posts to the connection's I/O thread; the connection decides
// whether the response is still wanted. It is dropped when the request's
// deadline already produced a 504, when the connection is gone, or when the
// server has stopped, so answering late or twice is harmless.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "http_message.hpp"

namespace troupe::gateway {

namespace detail {
class http_connection;
struct server_state;
} // namespace detail

class responder {
public:
  /// Sends `response`. Content-Length, keep-alive and the HTTP version are
  /// set by the connection.
  void send(http_response response) const;

  /// Runs `make` on the connection's I/O thread and sends what it returns:
  /// for work that belongs on I/O threads, not on the thread that completed a
  /// call (printing JSON). `make` is not run if the response is not wanted.
  void send_from_io_thread(std::function<http_response()> make) const;

private:
  friend class detail::http_connection;

  responder(std::shared_ptr<detail::server_state> server,
            std::weak_ptr<detail::http_connection> connection, std::uint64_t request_id)
    : server_(std::move(server)), connection_(std::move(connection)),
      request_id_(request_id) {
  }

  std::shared_ptr<detail::server_state> server_;
  std::weak_ptr<detail::http_connection> connection_;
  std::uint64_t request_id_;
};

} // namespace troupe::gateway
