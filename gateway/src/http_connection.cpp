#include "http_connection.hpp"

#include <cctype>
#include <charconv>
#include <ctime>
#include <string_view>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
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

/// Bytes asked for by each read of a body that did not come with its header:
/// the read buffer of a connection in the middle of a body (not counted in
/// the body budget) stays this small.
constexpr std::size_t body_read_size = 8192;

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
  : state_(std::move(state)), slot_(*state_), stream_(std::move(socket)),
    deadline_timer_(stream_.get_executor()), read_timer_(stream_.get_executor()),
    accepted_(std::chrono::steady_clock::now()), io_thread_(io_thread) {
  beast::error_code ec;
  auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec)
    peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  stream_.socket().set_option(tcp::no_delay{true}, ec);
}

http_connection::~http_connection() {
  // A grant still on its way finds this connection gone and gives the bytes back.
  if (body_wait_ != 0)
    state_->bodies.cancel(body_wait_ticket_);
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
  // A new connection must bring its first request's header within
  // header_timeout; a kept-alive one may wait idle_connection_timeout for
  // the next request's first byte. On either the connection closes without
  // a response: nothing was asked.
  if (requests_served_ == 0)
    stream_.expires_at(accepted_ + state_->config.header_timeout);
  else
    stream_.expires_after(state_->config.idle_connection_timeout);
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
  body_clock_started_ = false;
  body_received_ = 0;
  read_timed_out_ = false;
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
  // Our own timer rather than the stream's, whose expiry closes the socket:
  // a client too slow still gets its 408.
  stream_.expires_never();
  arm_read_timer((requests_served_ == 0 ? accepted_ : started_) + state_->config.header_timeout);
  http::async_read_header(
    stream_, buffer_, *parser_,
    beast::bind_front_handler(&http_connection::on_header, shared_from_this()));
}

void http_connection::on_header(beast::error_code ec, std::size_t) {
  if (ec || read_timed_out_) {
    on_read_error(ec);
    return;
  }
  if (take_body_memory())
    start_body();
}

bool http_connection::take_body_memory() {
  if (parser_->is_done())
    return true;  // no body
  auto& budget = state_->bodies;
  auto length = parser_->content_length();
  if (length && buffer_.size() >= *length) {
    // The whole body came with the header: in memory already, taken as it is.
    budget.take_anyway(*length);
    body_charge_ = body_charge{budget, *length};
    return true;
  }
  // Beast's string body reserves the declared length when its first byte
  // arrives; a chunked body may grow up to the limit and is charged so.
  auto bytes = std::min(length ? static_cast<std::size_t>(*length)
                               : state_->config.max_body_bytes,
                        budget.limit());
  if (budget.try_take(bytes)) {
    body_charge_ = body_charge{budget, bytes};
    return true;
  }
  auto wait = ++body_waits_;
  body_wait_ = wait;
  auto granted = [weak = weak_from_this(), state = state_, wait, bytes] {
    {
      std::shared_lock lock{state->responses_mutex};
      if (state->accepting_responses) {
        if (auto self = weak.lock()) {
          auto executor = self->get_executor();
          net::post(executor, [self = std::move(self), wait, bytes] {
            self->on_body_memory_granted(wait, bytes);
          });
          return;
        }
      }
    }
    state->bodies.give_back(bytes);
  };
  auto ticket = budget.take_or_wait(bytes, std::move(granted));
  if (ticket == 0) {
    body_wait_ = 0;
    body_charge_ = body_charge{budget, bytes};
    return true;
  }
  // Paused: nothing more is read from this client until the bytes are
  // granted; what it sends meanwhile stays in the socket buffers.
  body_wait_ticket_ = ticket;
  arm_read_timer(started_ + state_->config.read_timeout);
  return false;
}

void http_connection::on_body_memory_granted(std::uint64_t wait, std::size_t bytes) {
  if (wait != body_wait_ || phase_ != phase::reading) {
    state_->bodies.give_back(bytes);  // no longer wanted
    return;
  }
  body_wait_ = 0;
  body_wait_ticket_ = 0;
  body_charge_ = body_charge{state_->bodies, bytes};
  start_body();
}

void http_connection::stop_waiting_for_body_memory() {
  if (body_wait_ == 0)
    return;
  // When the wait was granted already, the grant's handler finds body_wait_
  // changed and gives the bytes back.
  state_->bodies.cancel(body_wait_ticket_);
  body_wait_ = 0;
  body_wait_ticket_ = 0;
}

void http_connection::start_body() {
  const auto& header = parser_->get();
  if (beast::iequals(header[http::field::expect], "100-continue") && !parser_->is_done()
      && buffer_.size() == 0) {
    // The client waits for this before it sends the body.
    body_started_ = std::chrono::steady_clock::now();
    body_clock_started_ = true;
    arm_read_timer(body_started_ + state_->config.min_request_rate_grace);
    continue_ = {http::status::continue_, header.version()};
    http::async_write(stream_, continue_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || self->read_timed_out_)
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
    // A chunked body was charged for the largest it could be.
    body_charge_.shrink_to(parser_->get().body().capacity());
    dispatch();
    return;
  }
  const auto& config = state_->config;
  if (!body_clock_started_) {
    body_started_ = std::chrono::steady_clock::now();
    body_clock_started_ = true;
  }
  if (config.min_request_rate > 0) {
    // After the grace, the body must keep up min_request_rate on average:
    // each byte received buys 1/rate seconds more.
    auto earned = std::chrono::microseconds{
      static_cast<std::int64_t>(body_received_ * 1'000'000 / config.min_request_rate)};
    arm_read_timer(body_started_ + config.min_request_rate_grace + earned);
  } else {
    arm_read_timer(started_ + config.read_timeout);
  }
  stream_.expires_never();
  stream_.async_read_some(
    buffer_.prepare(body_read_size),
    beast::bind_front_handler(&http_connection::on_body_bytes, shared_from_this()));
}

void http_connection::on_body_bytes(beast::error_code ec, std::size_t bytes) {
  if (ec || read_timed_out_) {
    on_read_error(ec);
    return;
  }
  buffer_.commit(bytes);
  body_received_ += bytes;
  read_body();
}

void http_connection::arm_read_timer(std::chrono::steady_clock::time_point deadline) {
  read_deadline_ = deadline;
  // As arm_deadline(): a timer that fires earlier stays and is moved on when
  // it fires, so a body arriving in many reads does not set it per read.
  if (read_timer_armed_ && read_timer_.expiry() <= deadline)
    return;
  read_timer_armed_ = true;
  read_timer_.expires_at(deadline);
  read_timer_.async_wait([self = shared_from_this(), deadline](beast::error_code ec) {
    self->on_read_timer(deadline, ec);
  });
}

void http_connection::disarm_read_timer() {
  read_deadline_ = std::chrono::steady_clock::time_point::max();
}

void http_connection::on_read_timer(std::chrono::steady_clock::time_point armed_for,
                                    beast::error_code ec) {
  if (ec || armed_for != read_timer_.expiry())
    return;  // cancelled, or re-armed for an earlier deadline
  read_timer_armed_ = false;
  if (phase_ != phase::reading || read_deadline_ == std::chrono::steady_clock::time_point::max())
    return;
  if (std::chrono::steady_clock::now() < read_deadline_) {
    arm_read_timer(read_deadline_);
    return;
  }
  on_read_timeout();
}

void http_connection::on_read_timeout() {
  disarm_read_timer();
  if (body_wait_ != 0) {
    if (!state_->bodies.cancel(body_wait_ticket_))
      return;  // granted just now: the grant is on its way and reading goes on
    body_wait_ = 0;
    body_wait_ticket_ = 0;
    refuse(503, "the node has no memory for this request's body now", true, true);
    return;
  }
  // A read (or the 100-continue write) is in progress: cancel it; its handler
  // sees read_timed_out_ and answers 408.
  read_timed_out_ = true;
  beast::error_code ignored;
  stream_.socket().cancel(ignored);
}

void http_connection::drop_slow_client() {
  read_timed_out_ = false;
  state_->slow_clients_dropped.fetch_add(1);
  const auto& config = state_->config;
  if (parser_ && parser_->is_header_done()) {
    refuse(408,
           config.min_request_rate > 0
             ? "the request body arrived slower than "
                 + std::to_string(config.min_request_rate) + " bytes per second"
             : "the request body did not arrive within "
                 + std::to_string(config.read_timeout.count()) + " ms",
           true);
  } else {
    refuse(408,
           "the request header did not arrive within "
             + std::to_string(config.header_timeout.count()) + " ms",
           true);
  }
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

void http_connection::on_read_error(beast::error_code ec) {
  if (phase_ == phase::closing)
    return;
  if (read_timed_out_) {
    drop_slow_client();
    return;
  }
  const auto& limits = state_->config;
  if (ec == http::error::header_limit) {
    refuse(431,
           "the request's header section exceeds " + std::to_string(limits.max_header_bytes)
             + " bytes",
           true);
  } else if (ec == http::error::body_limit) {
    refuse(413, "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes",
           true);
  } else if (is_disconnect(ec)) {
    close_now();  // the client went away mid-request: nothing to answer
  } else if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    refuse(400, "malformed request: " + ec.message(), true);
  } else {
    close_now();
  }
}

void http_connection::dispatch() {
  disarm_read_timer();
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
                          io_thread_, {}, peer_};
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

void http_connection::refuse(unsigned status, std::string detail, bool close,
                             bool retry_later) {
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
  disarm_read_timer();
  auto response = problem_response(status, detail, target_path());
  if (retry_later)
    response.set(http::field::retry_after, "1");
  write_response(std::move(response));
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
  // A response that ends the connection is not worth waiting long for: it
  // refuses the client (or the node is going), and the slot is wanted.
  stream_.expires_after(close_after_response_
                          ? std::min<std::chrono::steady_clock::duration>(
                              linger_time, state_->config.read_timeout)
                          : std::chrono::steady_clock::duration{state_->config.read_timeout});
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
  body_charge_.reset();
  await_request();
}

void http_connection::close_gracefully() {
  phase_ = phase::closing;
  // Nothing more is read into them: their memory goes now, not after the
  // linger.
  parser_.reset();
  request_ = {};
  body_charge_.reset();
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
  read_timer_.cancel();
  stop_waiting_for_body_memory();
  body_charge_.reset();
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
