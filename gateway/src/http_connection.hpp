// One accepted HTTP/1.1 connection: reads a request, hands it to the request
// handler, writes the response, and reads the next one (so pipelined
// requests are answered in order). Everything runs on the connection's I/O
// thread (the one thread running its io_context); other threads reach it only
// through post().
#pragma once

#include <utility>  // before Boost.Asio under -std=c++20

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "server_state.hpp"
#include "http_message.hpp"
#include "troupe/runtime/node_config.hpp"

namespace troupe::gateway::detail {

/// Connections use their io_context's executor itself, not the type-erased
/// any_io_executor: no strand is needed, and every handler is cheaper to
/// dispatch.
using io_executor = boost::asio::io_context::executor_type;
using http_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, io_executor>;
using http_stream = boost::beast::basic_stream<boost::asio::ip::tcp, io_executor>;

class http_connection : public std::enable_shared_from_this<http_connection> {
public:
  using executor_type = io_executor;

  /// `socket` belongs to the io_context of I/O thread number `io_thread`,
  /// which serves it.
  http_connection(http_socket socket, std::shared_ptr<server_state> state,
                  std::size_t io_thread);
  ~http_connection();

  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// The connection's I/O thread. Any thread: it never changes.
  executor_type get_executor() noexcept {
    return stream_.get_executor();
  }

  /// Registers with the server and starts reading. Any thread.
  void start();

  /// I/O thread only: the server is draining; close if waiting for a request.
  void on_drain();

  /// I/O thread only: drain()'s deadline came. A request the handler still
  /// has is answered 503; one only partly received is dropped with the
  /// connection.
  void on_drain_deadline();

  /// I/O thread only: the handler's answer to request `request_id`.
  void complete(std::uint64_t request_id, const std::function<http_response()>& make);

private:
  enum class phase {
    awaiting_request,  // nothing of the next request has arrived
    reading,           // a request is arriving
    dispatched,        // the handler has it; no response yet
    writing,           // the response is being written
    closing,           // shutting down; nothing more is read or dispatched
  };

  void await_request();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void read_header();
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void read_body();
  /// Feeds the parser what the buffer holds, stopping after the header when
  /// `header_only` (the body's bytes stay buffered, so that on_header sees
  /// whether the client already sent some). Sets `ec` on malformed input;
  /// the parser's state tells how far it got.
  void parse_buffered(boost::beast::error_code& ec, bool header_only);
  void on_body(boost::beast::error_code ec, std::size_t bytes);
  void on_read_error(boost::beast::error_code ec);
  void dispatch();
  /// The request being served must be answered by `deadline` (504).
  void arm_deadline(std::chrono::steady_clock::time_point deadline);
  void on_deadline(std::chrono::steady_clock::time_point armed_for,
                   boost::beast::error_code ec);
  void refuse(unsigned status, std::string detail, bool close);
  void write_response(http_response response);
  void on_written(boost::beast::error_code ec, std::size_t bytes);
  /// What the request log says of the response being written, kept when
  /// the logger's level takes it.
  void note_for_request_log();
  void log_request(const boost::beast::error_code& ec);
  /// The request being answered: the one dispatched, or the one being read
  /// once its header is whole; nullptr when there is none (malformed input).
  const http_request* current_request() const;
  void close_gracefully();
  void discard_until_closed();
  void close_now();
  std::string target_path() const;
  /// The Date header's value for now (IMF-fixdate).
  const std::string& date_text();

  std::shared_ptr<server_state> state_;
  http_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>,
                                    io_executor>
    deadline_timer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  http_request request_;
  http_response response_;
  std::string out_;  // response_'s bytes while they are written; keeps its capacity
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
  std::optional<request_in_progress> in_progress_;
  std::chrono::steady_clock::time_point started_;   // the request's first byte was read
  std::chrono::steady_clock::time_point deadline_;  // of the request being served
  std::string_view route_;  // its route template, from request_context::route
  struct request_log_entry {
    runtime::log_level level;
    std::string method;
    std::string path;  // the route template when there is one
    std::string trace_id;
    unsigned status = 0;
    std::size_t body_bytes = 0;
  };
  std::optional<request_log_entry> request_log_;  // of the response being written
  bool deadline_armed_ = false;  // a wait on deadline_timer_ is pending
  phase phase_ = phase::awaiting_request;
  std::size_t io_thread_;
  std::uint64_t id_ = 0;           // in server_state::connections
  std::uint64_t request_id_ = 0;   // of the request being served
  std::uint64_t requests_served_ = 0;
  unsigned version_ = 11;  // HTTP version of the request being served
  bool keep_alive_ = false;
  bool head_request_ = false;
  bool close_after_response_ = false;
  std::string peer_;  // "address:port", for logs
  std::time_t date_second_ = 0;  // date_text_ is for this second
  std::string date_text_;
};

} // namespace troupe::gateway::detail
