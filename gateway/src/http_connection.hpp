// One accepted HTTP/1.1 connection: reads a request, hands it to the request
// handler, writes the response, and reads the next one (so pipelined
// requests are answered in order). Everything runs on the connection's I/O
// thread (the one thread running its io_context); other threads reach it only
// through post().
//
// Reading a request is bounded in time and memory (http_server.hpp): the
// header by header_timeout, the body by min_request_rate after min_request_rate_grace
// (read_timer_; a client too slow gets 408 and the connection closes), and
// the body's memory by the server's body_budget, taken before the body is
// read (the connection stops reading until the budget grants it).
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

#include "body_budget.hpp"
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
  /// Takes the body's bytes from the server's budget: true when taken (or
  /// there is no body), false when the connection waits for them
  /// (on_body_memory_granted, or 503 at the read timeout).
  bool take_body_memory();
  void on_body_memory_granted(std::uint64_t wait, std::size_t bytes);
  void stop_waiting_for_body_memory();
  /// After the header and its body's memory: 100-continue, then the body.
  void start_body();
  void read_body();
  void on_body_bytes(boost::beast::error_code ec, std::size_t bytes);
  /// Reading must be done by `deadline` (header or body); the timer is moved
  /// on lazily, like deadline_timer_.
  void arm_read_timer(std::chrono::steady_clock::time_point deadline);
  void disarm_read_timer();
  void on_read_timer(std::chrono::steady_clock::time_point armed_for,
                     boost::beast::error_code ec);
  /// The read timer fired: 408 for a slow header or body, 503 for a body
  /// still waiting for memory.
  void on_read_timeout();
  void drop_slow_client();
  /// Feeds the parser what the buffer holds, stopping after the header when
  /// `header_only` (the body's bytes stay buffered, so that on_header sees
  /// whether the client already sent some). Sets `ec` on malformed input;
  /// the parser's state tells how far it got.
  void parse_buffered(boost::beast::error_code& ec, bool header_only);
  void on_read_error(boost::beast::error_code ec);
  void dispatch();
  /// The request being served must be answered by `deadline` (504).
  void arm_deadline(std::chrono::steady_clock::time_point deadline);
  void on_deadline(std::chrono::steady_clock::time_point armed_for,
                   boost::beast::error_code ec);
  void refuse(unsigned status, std::string detail, bool close, bool retry_later = false);
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
  connection_slot slot_;  // counted open from the accept until destroyed
  http_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>,
                                    io_executor>
    deadline_timer_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>,
                                    io_executor>
    read_timer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  http_request request_;
  http_response response_;
  std::string out_;  // response_'s bytes while they are written; keeps its capacity
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
  std::optional<request_in_progress> in_progress_;
  std::chrono::steady_clock::time_point accepted_;
  std::chrono::steady_clock::time_point started_;   // the request's first byte was read
  std::chrono::steady_clock::time_point body_started_;  // its body began to be awaited
  std::chrono::steady_clock::time_point read_deadline_ =
    std::chrono::steady_clock::time_point::max();   // of the header or body being read
  std::size_t body_received_ = 0;  // bytes read since body_started_
  body_charge body_charge_;        // the request's body memory, until it is answered
  std::uint64_t body_waits_ = 0;   // waits for body memory so far: numbers them
  std::uint64_t body_wait_ = 0;    // the wait in progress: its number, 0 when none
  std::uint64_t body_wait_ticket_ = 0;  // its ticket in the budget's queue
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
  bool read_timer_armed_ = false;  // a wait on read_timer_ is pending
  bool body_clock_started_ = false;  // body_started_ is this request's
  bool read_timed_out_ = false;  // the read in progress was cancelled by the read timer
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
