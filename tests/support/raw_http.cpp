#include <utility>  // before Boost.Asio under C++20

#include "support/raw_http.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace troupe::test {

struct raw_connection::impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

raw_connection::raw_connection(std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->stream.expires_after(std::chrono::seconds{10});
  impl_->stream.connect(
    asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
}

raw_connection::~raw_connection() {
  close();
}

void raw_connection::send(const std::string& bytes) {
  impl_->stream.expires_after(std::chrono::seconds{10});
  asio::write(impl_->stream.socket(), asio::buffer(bytes));
}

std::optional<http_response>
raw_connection::read_response(std::chrono::milliseconds timeout, bool to_head) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(to_head);
  beast::error_code ec;
  impl_->stream.expires_after(timeout);
  // Run the async read with a timer so that a silent server cannot hang us.
  bool done = false;
  http::async_read(impl_->stream, impl_->buffer, parser,
                   [&](beast::error_code e, size_t) {
                     ec = e;
                     done = true;
                   });
  impl_->io.restart();
  impl_->io.run();
  if (!done || ec)
    return std::nullopt;
  auto msg = parser.release();
  http_response r;
  r.status = static_cast<int>(msg.result_int());
  r.version = msg.version();
  for (auto& field : msg) {
    std::string name{field.name_string()};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string{field.value()};
  }
  r.body = std::move(msg.body());
  r.keep_alive = msg.keep_alive();
  return r;
}

bool raw_connection::closed_by_peer(std::chrono::milliseconds timeout) {
  impl_->stream.expires_after(timeout);
  char byte;
  beast::error_code ec;
  bool done = false;
  impl_->stream.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code e, size_t) {
    ec = e;
    done = true;
  });
  impl_->io.restart();
  impl_->io.run();
  return done && (ec == asio::error::eof || ec == asio::error::connection_reset);
}

std::string raw_connection::read_until_closed(std::chrono::milliseconds timeout, bool& closed) {
  std::string received;
  closed = false;
  impl_->stream.expires_after(timeout);
  char chunk[4096];
  beast::error_code ec;
  // Bounded by the expiry: a read that is still pending then fails.
  for (;;) {
    bool done = false;
    std::size_t n = 0;
    impl_->stream.async_read_some(asio::buffer(chunk), [&](beast::error_code e, size_t got) {
      ec = e;
      n = got;
      done = true;
    });
    impl_->io.restart();
    impl_->io.run();
    received.append(chunk, n);
    if (!done || ec) {
      closed = done && (ec == asio::error::eof || ec == asio::error::connection_reset);
      return received;
    }
  }
}

void raw_connection::close() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  impl_->stream.socket().close(ec);
}

std::string make_request(const std::string& method, const std::string& target,
                         const std::string& body,
                         const std::vector<std::string>& extra_headers,
                         const std::string& content_type) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (auto& h : extra_headers)
    req += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    if (!content_type.empty())
      req += "Content-Type: " + content_type + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  return req;
}

http_response http_call(std::uint16_t port, const std::string& method,
                        const std::string& target, const std::string& body,
                        const std::vector<std::string>& extra_headers) {
  raw_connection conn{port};
  conn.send(make_request(method, target, body, extra_headers));
  auto r = conn.read_response();
  if (!r)
    throw std::runtime_error("no response to " + method + " " + target);
  return *r;
}

} // namespace troupe::test
