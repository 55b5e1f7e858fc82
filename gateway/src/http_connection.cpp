#include "http_connection.hpp"

#include <cctype>
#include <charconv>
#include <ctime>
#include <string_view>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "response_bytes.hpp"
#include "problem.hpp"
#include "uri.hpp"
#include "utf8.hpp"
#include "troupe/runtime/logger.hpp"

namespace troupe::gateway::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

/// How long a closing connection keeps reading (and discarding) what the
/// client still sends, so that the close does not reset the connection
/// before the client has read our last response (RFC 9112 9.6).
constexpr std::chrono::seconds linger_time{2};

/// The Server header: the product, no version (RFC 9110 10.2.4 advises
/// against details that help attackers).
constexpr const char* server_name = "troupe";

/// Bytes asked for by the read that waits for a request's first byte.
constexpr std::size_t first_read_size = 4096;

/// X-Troupe-Timeout-Ms: a positive decimal integer, nothing else.
std::optional<std::chrono::milliseconds> parse_timeout(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value <= 0)
    return std::nullopt;
  return std::chrono::milliseconds{value};
}

/// The trace id of a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>"), or
/// empty when the value does not have that shape.
std::string_view trace_id_of(std::string_view traceparent) {
  if (traceparent.size() < 55 || traceparent[2] != '-' || traceparent[35] != '-')
    return {};
  auto id = traceparent.substr(3, 32);
  for (char c : id)
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return {};
  return id;
}

bool is_disconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message
         || ec == net::error::eof || ec == net::error::connection_reset
         || ec == net::error::broken_pipe || ec == net::error::operation_aborted
         || ec == net::error::connection_aborted;
}

} // namespace

http_connection::http_connection(http_socket socket, std::shared_ptr<server_state> state,
                                 std::size_t io_thread)
  : state_(std::move(state)), stream_(std::move(socket)),
    deadline_timer_(stream_.get_executor()), io_thread_(io_thread) {
  beast::error_code ec;
  auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec)
    peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  stream_.socket().set_option(tcp::no_delay{true}, ec);
}

http_connection::~http_connection() {
  std::lock_guard lock{state_->connections_mutex};
  state_->connections.erase(id_);
}

void http_connection::start() {
  {
    std::lock_guard lock{state_->connections_mutex};
    id_ = ++state_->next_connection_id;
    state_->connections.emplace(id_, weak_from_this());
  }
  net::dispatch(stream_.get_executor(),
                [self = shared_from_this()] { self->await_request(); });
}

void http_connection::on_drain() {
  if (phase_ == phase::awaiting_request)
    close_now();
}

void http_connection::on_drain_deadline() {
  switch (phase_) {
    case phase::dispatched: {
      // Accepted, so it gets an answer: the one it would get from a node
      // that is gone, with the hint to try again (elsewhere, or once the node
      // is back). A late reply from the handler finds it answered.
      close_after_response_ = true;
      state_->answered_at_drain_deadline.fetch_add(1);
      auto response =
        problem_response(503, "the node shut down before the call completed", target_path());
      response.set(http::field::retry_after, "1");
      write_response(std::move(response));
      return;
    }
    case phase::awaiting_request:
    case phase::reading:
      close_now();  // nothing accepted to answer
      return;
    case phase::writing:  // its answer is on the way
    case phase::closing:
      return;
  }
}

void http_connection::await_request() {
  if (phase_ == phase::closing)
    return;
  if (state_->draining.load() && buffer_.size() == 0) {
    close_now();
    return;
  }
  version_ = 11;
  head_request_ = false;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(state_->config.max_header_bytes));
  parser_->body_limit(state_->config.max_body_bytes);
  if (buffer_.size() > 0) {  // pipelined: the next request is already here
    read_header();
    return;
  }
  phase_ = phase::awaiting_request;
  stream_.expires_after(requests_served_ == 0 ? state_->config.read_timeout
                                              : state_->config.idle_timeout);
  stream_.async_read_some(
    buffer_.prepare(first_read_size),
    beast::bind_front_handler(&http_connection::on_first_bytes, shared_from_this()));
}

void http_connection::on_first_bytes(beast::error_code ec, std::size_t bytes) {
  if (phase_ == phase::closing)
    return;
  if (ec) {
    // Idle timeout, a client closing its keep-alive connection, or drain().
    close_now();
    return;
  }
  buffer_.commit(bytes);
  read_header();
}

void http_connection::read_header() {
  phase_ = phase::reading;
  started_ = std::chrono::steady_clock::now();
  route_ = {};
  if (!in_progress_)
    in_progress_.emplace(*state_);
  // A small request usually arrives whole in one read: Beast's parser takes
  // it from the buffer here, where an async_read_header would find it in the
  // buffer too but answer through a composed operation and a posted
  // completion (~1 200 instructions of a request's ~26 000 on this thread).
  // Anything short of a whole header goes the asynchronous way.
  beast::error_code ec;
  parse_buffered(ec, true);
  if (ec) {
    on_read_error(ec);
    return;
  }
  if (parser_->is_header_done()) {
    on_header({}, 0);
    return;
  }
  stream_.expires_after(state_->config.read_timeout);
  http::async_read_header(
    stream_, buffer_, *parser_,
    beast::bind_front_handler(&http_connection::on_header, shared_from_this()));
}

void http_connection::on_header(beast::error_code ec, std::size_t) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  const auto& header = parser_->get();
  if (beast::iequals(header[http::field::expect], "100-continue") && !parser_->is_done()
      && buffer_.size() == 0) {
    // The client waits for this before it sends the body.
    continue_ = {http::status::continue_, header.version()};
    http::async_write(stream_, continue_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec)
                          self->on_read_error(ec);
                        else
                          self->read_body();
                      });
    return;
  }
  read_body();
}

void http_connection::read_body() {
  beast::error_code ec;
  parse_buffered(ec, false);
  if (ec) {
    on_read_error(ec);
    return;
  }
  if (parser_->is_done()) {
    dispatch();
    return;
  }
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_connection::on_body, shared_from_this()));
}

void http_connection::parse_buffered(beast::error_code& ec, bool header_only) {
  while (buffer_.size() > 0 && !parser_->is_done()
         && !(header_only && parser_->is_header_done())) {
    auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return;  // the rest is yet to come
    }
    if (ec || used == 0)
      return;
  }
}

void http_connection::on_body(beast::error_code ec, std::size_t) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  dispatch();
}

void http_connection::on_read_error(beast::error_code ec) {
  if (phase_ == phase::closing)
    return;
  const auto& limits = state_->config;
  if (ec == http::error::header_limit) {
    refuse(431,
           "the request's header section exceeds " + std::to_string(limits.max_header_bytes)
             + " bytes",
           true);
  } else if (ec == http::error::body_limit) {
    refuse(413, "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes",
           true);
  } else if (ec == beast::error::timeout) {
    state_->log.info("http request timed out while arriving",
                     {{"client.address", peer_},
                      {"event.reason", "no whole request within read_timeout"}});
    close_now();
  } else if (is_disconnect(ec)) {
    close_now();  // the client went away mid-request: nothing to answer
  } else if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    refuse(400, "malformed request: " + ec.message(), true);
  } else {
    close_now();
  }
}

void http_connection::dispatch() {
  request_ = parser_->release();
  parser_.reset();
  phase_ = phase::dispatched;
  ++request_id_;
  version_ = request_.version();
  keep_alive_ = request_.keep_alive();
  head_request_ = request_.method() == http::verb::head;
  close_after_response_ = false;

  auto timeout = state_->config.request_timeout;
  if (auto header = request_.find(timeout_header); header != request_.end()) {
    auto requested = parse_timeout({header->value().data(), header->value().size()});
    if (!requested) {
      refuse(400,
             std::string{timeout_header} + " must be a positive whole number of milliseconds",
             false);
      return;
    }
    timeout = std::min(timeout, *requested);  // shortens, never lengthens
  }
  arm_deadline(std::chrono::steady_clock::now() + timeout);

  request_context context{std::chrono::system_clock::now() + timeout, state_->draining.load(),
                          io_thread_};
  try {
    state_->handler(request_, context, responder{state_, weak_from_this(), request_id_});
    route_ = context.route;
  } catch (const std::exception& e) {
    route_ = context.route;
    state_->log.error("http request handler threw", {{"error.message", e.what()},
                                                     {"url.path", target_path()}});
    if (phase_ == phase::dispatched)
      write_response(problem_response(500, "the request could not be handled", target_path()));
  }
}

void http_connection::arm_deadline(std::chrono::steady_clock::time_point deadline) {
  deadline_ = deadline;
  // Keep-alive requests come with ever later deadlines: the timer armed for
  // an earlier one stays, and on_deadline() moves it on when it fires. So a
  // busy connection sets its timer about once per request_timeout, not once
  // per request.
  if (deadline_armed_ && deadline_timer_.expiry() <= deadline)
    return;
  deadline_armed_ = true;
  deadline_timer_.expires_at(deadline);  // cancels a later wait, if any
  deadline_timer_.async_wait(
    [self = shared_from_this(), deadline](beast::error_code ec) { self->on_deadline(deadline, ec); });
}

void http_connection::on_deadline(std::chrono::steady_clock::time_point armed_for,
                                  beast::error_code ec) {
  if (ec || armed_for != deadline_timer_.expiry())
    return;  // cancelled, or re-armed for an earlier deadline
  deadline_armed_ = false;
  if (phase_ != phase::dispatched)
    return;
  if (std::chrono::steady_clock::now() < deadline_) {
    arm_deadline(deadline_);  // armed for an earlier request of this connection
    return;
  }
  write_response(
    problem_response(504, "the call did not complete before its deadline", target_path()));
}

void http_connection::complete(std::uint64_t request_id,
                               const std::function<http_response()>& make) {
  if (request_id != request_id_ || phase_ != phase::dispatched)
    return;  // answered already (504), or a later request is being served
  http_response response;
  try {
    response = make();
  } catch (const std::exception& e) {
    state_->log.error("building an http response threw", {{"error.message", e.what()},
                                                          {"url.path", target_path()}});
    response = problem_response(500, "the response could not be built", target_path());
  }
  write_response(std::move(response));
}

void http_connection::refuse(unsigned status, std::string detail, bool close) {
  if (close) {
    // What follows in the stream cannot be trusted to start a request.
    close_after_response_ = true;
    state_->log.warn("http request refused",
                     {{"client.address", peer_},
                      {"http.response.status_code", std::to_string(status)},
                      {"error.message", detail}});
  }
  if (!in_progress_)
    in_progress_.emplace(*state_);
  write_response(problem_response(status, detail, target_path()));
}

const std::string& http_connection::date_text() {
  // RFC 9110 6.6.1: an origin server with a clock sends Date. Formatted once a
  // second per connection, like nginx caches it per worker.
  auto now = std::time(nullptr);
  if (now != date_second_) {
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char text[40];
    auto length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    date_text_.assign(text, length);
    date_second_ = now;
  }
  return date_text_;
}

void http_connection::write_response(http_response response) {
  response_ = std::move(response);
  response_.version(version_);
  response_.set(http::field::date, date_text());
  response_.set(http::field::server, server_name);
  bool keep_alive = keep_alive_ && !close_after_response_;
  if (keep_alive && state_->draining.load()) {
    // Draining ends the connection after the requests the client has sent
    // already: one pipelined behind this is still read and answered (the
    // handler refuses it, seeing `draining`), until drain()'s deadline.
    keep_alive = buffer_.size() > 0 && !state_->drain_deadline_passed.load();
  }
  response_.keep_alive(keep_alive);
  response_.prepare_payload();
  note_for_request_log();
  phase_ = phase::writing;
  // A response to HEAD: the header of a GET, no body (RFC 9110 9.3.2).
  out_.clear();
  append_response_bytes(response_, !head_request_, out_);
  stream_.expires_after(state_->config.read_timeout);
  net::async_write(stream_, net::buffer(out_),
                   beast::bind_front_handler(&http_connection::on_written, shared_from_this()));
}

void http_connection::on_written(beast::error_code ec, std::size_t) {
  if (request_log_)
    log_request(ec);
  if (ec) {
    in_progress_.reset();
    close_now();
    return;
  }
  ++requests_served_;
  if (!response_.keep_alive()) {
    in_progress_.reset();
    close_gracefully();
    return;
  }
  // A pipelined request already buffered stays counted in progress, so that
  // drain() never sees zero between it and the one just answered.
  if (buffer_.size() == 0)
    in_progress_.reset();
  response_ = {};
  request_ = {};
  await_request();
}

void http_connection::close_gracefully() {
  phase_ = phase::closing;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    close_now();
    return;
  }
  buffer_.clear();
  stream_.expires_after(std::min<std::chrono::steady_clock::duration>(
    linger_time, state_->config.read_timeout));
  discard_until_closed();
}

void http_connection::discard_until_closed() {
  stream_.async_read_some(buffer_.prepare(first_read_size),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec)
                              self->close_now();
                            else
                              self->discard_until_closed();
                          });
}

void http_connection::close_now() {
  phase_ = phase::closing;
  in_progress_.reset();
  deadline_timer_.cancel();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

const http_request* http_connection::current_request() const {
  if (phase_ == phase::dispatched)
    return &request_;
  // While reading, the parser's message holds what it has parsed: its
  // request line once that was whole, even when a later field failed (a
  // Content-Length over the limit fails the header before it is done).
  if (phase_ == phase::reading && parser_)
    return &parser_->get();
  return nullptr;
}

std::string http_connection::target_path() const {
  const auto* request = current_request();
  if (request == nullptr)
    return {};
  auto split = split_target({request->target().data(), request->target().size()});
  return split ? std::string{split->path} : std::string{};
}

void http_connection::note_for_request_log() {
  auto status = response_.result_int();
  auto level = status >= 500 ? runtime::log_level::info : runtime::log_level::debug;
  if (!state_->log.enabled(level)) {
    request_log_.reset();
    return;
  }
  request_log_entry entry;
  entry.level = level;
  if (const auto* request = current_request()) {
    auto method = request->method_string();
    entry.method.assign(method.data(), method.size());
    if (auto header = request->find("traceparent"); header != request->end())
      entry.trace_id = trace_id_of({header->value().data(), header->value().size()});
  }
  entry.path = route_.empty() ? target_path() : std::string{route_};
  entry.status = status;
  entry.body_bytes = head_request_ ? 0 : response_.body().size();
  request_log_ = std::move(entry);
}

void http_connection::log_request(const beast::error_code& ec) {
  auto entry = std::move(*request_log_);
  request_log_.reset();
  auto duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - started_)
                    .count();
  std::vector<runtime::log_field> fields;
  fields.reserve(9);
  if (!entry.method.empty())
    fields.emplace_back("http.request.method", std::move(entry.method));
  if (!entry.path.empty())
    fields.emplace_back("url.path", std::move(entry.path));
  fields.emplace_back("http.response.status_code", entry.status);
  fields.emplace_back("http.response.body.bytes", entry.body_bytes);
  fields.emplace_back("event.duration", duration);
  fields.emplace_back("client.address", peer_);
  if (!entry.trace_id.empty())
    fields.emplace_back("trace.id", std::move(entry.trace_id));
  if (ec)
    fields.emplace_back("error.message", "the response could not be written: " + ec.message());
  state_->log.log_fields(entry.level, entry.status >= 500 ? "http request failed" : "http request",
                         fields);
}

} // namespace troupe::gateway::detail
