#include <utility>  // before Boost.Asio: its 1.74 headers miss it under C++20

#include "admin_client.hpp"

#include <optional>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace troupe::shell {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady_clock = std::chrono::steady_clock;

// Admin answers are small; this only stops a confused peer from filling memory.
constexpr std::uint64_t max_answer_bytes = 64u << 20;

// The gateway's request header by which a client shortens its deadline.
constexpr const char* timeout_header = "X-Troupe-Timeout-Ms";

std::string to_words(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0)
    return std::to_string(timeout.count() / 1000) + " s";
  return std::to_string(timeout.count()) + " ms";
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_version).category()
         && ec != http::error::end_of_stream && ec != http::error::partial_message;
}

} // namespace

struct admin_client::connection {
  asio::io_context io;
  tcp::resolver resolver{io};
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool open = false;
  int cancel_fd = -1;      // see admin_client::cancel_on
  bool cancelled = false;  // cancel_fd turned readable during this request

  void close() {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    open = false;
  }

  // Whether a kept-alive connection can carry the next request: the node has
  // not closed it (idle timeout, restart) and has sent nothing unasked. Asked
  // before sending, so that a closed connection costs a reconnect and never
  // a request sent twice.
  bool idle_and_alive() {
    if (!open || buffer.size() != 0)
      return false;
    auto& socket = stream.socket();
    error_code ec;
    socket.non_blocking(true, ec);
    if (ec)
      return false;
    char byte = 0;
    socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    error_code ignored;
    socket.non_blocking(false, ignored);
    return ec == asio::error::would_block;
  }

  // Runs the io_context until the operation started on it sets DONE, then
  // until the handlers it leaves behind (its timers) have run. Every
  // operation carries the request's deadline, so this returns in time; and
  // sooner when cancel_fd turns readable, which cancels the operation (it
  // then completes with operation_aborted).
  void run(const bool& done) {
    io.restart();
    std::optional<asio::posix::stream_descriptor> watch;
    if (cancel_fd >= 0) {
      watch.emplace(io, cancel_fd);
      watch->async_wait(asio::posix::descriptor_base::wait_read, [this](error_code ec) {
        if (ec)
          return;
        cancelled = true;
        resolver.cancel();
        stream.cancel();
      });
    }
    while (!done && io.run_one()) {
    }
    if (watch) {
      error_code ignored;
      watch->cancel(ignored);
    }
    io.run();
    if (watch)
      watch->release();  // the descriptor is its owner's to close
  }

  error_code connect(const base_url& url, steady_clock::time_point deadline) {
    // The resolver has no deadline of its own: a timer cancels it. (A name
    // lookup already inside getaddrinfo still runs to its own end.)
    error_code result;
    bool timed_out = false;
    bool resolved = false;
    tcp::resolver::results_type endpoints;
    asio::steady_timer timer(io, deadline);
    timer.async_wait([&](error_code ec) {
      if (!ec) {
        timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(url.host, std::to_string(url.port),
                           tcp::resolver::numeric_service,
                           [&](error_code ec, tcp::resolver::results_type found) {
                             result = ec;
                             endpoints = std::move(found);
                             resolved = true;
                             timer.cancel();
                           });
    run(resolved);
    if (timed_out)
      return beast::error::timeout;
    if (result)
      return result;

    bool connected = false;
    stream.expires_at(deadline);
    stream.async_connect(endpoints, [&](error_code ec, const tcp::endpoint&) {
      result = ec;
      connected = true;
    });
    run(connected);
    stream.expires_never();
    if (!result)
      open = true;
    return result;
  }

  error_code exchange(const http::request<http::string_body>& request,
                      http::response_parser<http::string_body>& parser,
                      steady_clock::time_point deadline) {
    error_code result;
    bool done = false;
    const auto finish = [&](error_code ec, std::size_t) {
      result = ec;
      done = true;
    };
    stream.expires_at(deadline);
    http::async_write(stream, request, finish);
    run(done);
    if (!result) {
      done = false;
      http::async_read(stream, buffer, parser, finish);
      run(done);
    }
    stream.expires_never();
    return result;
  }

  // TIMEOUT bounds the whole exchange; CALL_DEADLINE, when set, goes to the
  // node as the call's deadline.
  http_response send(const base_url& url, std::chrono::milliseconds timeout, http::verb verb,
                     std::string_view target, std::string body,
                     std::optional<std::chrono::milliseconds> call_deadline = std::nullopt) {
    const auto deadline = steady_clock::now() + timeout;
    cancelled = false;

    http::request<http::string_body> request{verb, beast::string_view(target.data(), target.size()), 11};
    request.set(http::field::host, url.authority());
    request.set(http::field::user_agent, "troupe-shell");
    request.set(http::field::accept, "application/json, application/problem+json");
    if (verb == http::verb::post)
      request.set(http::field::content_type, "application/json");
    if (call_deadline)
      request.set(timeout_header, std::to_string(call_deadline->count()));
    request.body() = std::move(body);
    request.keep_alive(true);
    request.prepare_payload();

    bool reused = idle_and_alive();
    if (open && !reused)
      close();
    for (;;) {
      if (!open) {
        if (error_code ec = connect(url, deadline)) {
          close();
          if (cancelled)
            throw command_cancelled();
          throw transport_error("cannot reach " + url.to_string() + ": "
                                + (ec == beast::error::timeout
                                       ? "no connection within " + to_words(timeout)
                                       : ec.message()));
        }
      }

      http::response_parser<http::string_body> parser;
      parser.body_limit(max_answer_bytes);
      const error_code ec = exchange(request, parser, deadline);
      if (!ec) {
        auto answer = parser.release();
        http_response response{answer.result_int(),
                               std::string(answer[http::field::content_type]),
                               std::move(answer.body())};
        if (!answer.keep_alive())
          close();
        return response;
      }

      close();
      if (cancelled)
        throw command_cancelled();
      if (ec == beast::error::timeout)
        throw transport_error("no answer from " + url.to_string() + " within "
                              + to_words(timeout));
      if (is_parse_error(ec))
        throw transport_error("bad answer from " + url.to_string() + ": " + ec.message());
      // A kept-alive connection may break between our check and our request;
      // only a GET is safe to send again.
      if (reused && verb == http::verb::get) {
        reused = false;
        continue;
      }
      const bool closed_by_node = ec == http::error::end_of_stream || ec == asio::error::eof
                                  || ec == http::error::partial_message;
      throw transport_error("lost connection to " + url.to_string() + ": "
                            + (closed_by_node ? "the node closed it" : ec.message()));
    }
  }
};

admin_client::admin_client(base_url url, std::chrono::milliseconds timeout)
  : url_(std::move(url)), timeout_(timeout), connection_(std::make_unique<connection>()) {}

admin_client::~admin_client() = default;
admin_client::admin_client(admin_client&&) noexcept = default;
admin_client& admin_client::operator=(admin_client&&) noexcept = default;

http_response admin_client::get(std::string_view target) {
  connection_->cancel_fd = cancel_fd_;
  return connection_->send(url_, timeout_, http::verb::get, target, {});
}

http_response admin_client::post(std::string_view target, std::string body) {
  connection_->cancel_fd = cancel_fd_;
  return connection_->send(url_, timeout_, http::verb::post, target, std::move(body));
}

http_response admin_client::remove(std::string_view target) {
  connection_->cancel_fd = cancel_fd_;
  return connection_->send(url_, timeout_, http::verb::delete_, target, {});
}

http_response admin_client::post_call(std::string_view target, std::string body,
                                      std::chrono::milliseconds deadline) {
  connection_->cancel_fd = cancel_fd_;
  return connection_->send(url_, deadline + answer_grace, http::verb::post, target,
                           std::move(body), deadline);
}

} // namespace troupe::shell
