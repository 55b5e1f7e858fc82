// A small synchronous HTTP/1.1 client for one node's admin API. The shell
// asks one question at a time and waits for the answer, so blocking is what
// it wants; the timeout keeps a frozen node from freezing the shell, and an
// interrupt (Ctrl-C) lets the user stop waiting sooner.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "errors.hpp"
#include "url.hpp"

namespace troupe::shell {

/// An exchange with the node did not complete: it could not be reached, it
/// closed the connection, it did not answer in time, or the answer was not
/// HTTP. The message names the URL and the cause, e.g.
/// "cannot reach http://127.0.0.1:9: Connection refused".
class transport_error : public command_failed {
public:
  using command_failed::command_failed;
};

/// What the node answered, whatever the status.
struct http_response {
  unsigned status = 0;
  std::string content_type;  // as sent, parameters included
  std::string body;
};

class admin_client {
public:
  static constexpr std::chrono::milliseconds default_timeout{10'000};

  /// How much longer than a call's deadline post_call waits, so that the
  /// node's own answer to a call past its deadline (504) comes first.
  static constexpr std::chrono::milliseconds answer_grace{2'000};

  /// Connects lazily, on the first request. TIMEOUT bounds each request as a
  /// whole: resolving, connecting, sending and reading the answer.
  explicit admin_client(base_url url, std::chrono::milliseconds timeout = default_timeout);
  ~admin_client();
  /// A moved-from client may only be assigned to or destroyed.
  admin_client(admin_client&&) noexcept;
  admin_client& operator=(admin_client&&) noexcept;

  /// TARGET is the origin-form request target ("/admin/v1/services"), its
  /// variable parts already percent-encoded. Throws transport_error.
  http_response get(std::string_view target);

  /// Sends BODY as application/json. Throws transport_error.
  http_response post(std::string_view target, std::string body);

  /// Sends DELETE. Throws transport_error.
  http_response remove(std::string_view target);

  /// post() for a call to a service: asks the node to answer within
  /// DEADLINE (header X-Troupe-Timeout-Ms, which can only shorten the
  /// node's own limit) and waits DEADLINE plus answer_grace instead of the
  /// timeout.
  http_response post_call(std::string_view target, std::string body,
                          std::chrono::milliseconds deadline);

  /// From now on, while a request is in progress, FD turning readable
  /// abandons it: the connection is closed and command_cancelled thrown.
  /// The client only watches FD; its owner consumes what made it readable.
  /// -1: nothing to watch.
  void cancel_on(int fd) noexcept { cancel_fd_ = fd; }

  const base_url& url() const noexcept { return url_; }
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

private:
  // The connection is kept alive between requests and opened again when the
  // node has closed it meanwhile. A request is sent a second time only when
  // it is a GET that failed on a reused connection: a POST may have taken
  // effect before the connection broke.
  struct connection;

  base_url url_;
  std::chrono::milliseconds timeout_;
  int cancel_fd_ = -1;
  std::unique_ptr<connection> connection_;  // keeps Asio out of this header
};

} // namespace troupe::shell
