#include "connection_refusal.hpp"

#include <sys/socket.h>

#include <array>
#include <ctime>

#include <boost/beast/core/bind_handler.hpp>

#include "readiness.hpp"
#include "response_bytes.hpp"
#include "server_state.hpp"
#include "troupe/runtime/logger.hpp"

namespace troupe::gateway::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// How long a refused connection is read from after its 503, at most.
constexpr std::chrono::seconds refusal_linger_time{1};

/// Reads and discards what a refused client still sends, until it closes or
/// refusal_linger_time passes; counted in lingering_refusals meanwhile.
class lingering_refusal : public std::enable_shared_from_this<lingering_refusal> {
public:
  lingering_refusal(http_socket socket, std::shared_ptr<server_state> state)
    : stream_(std::move(socket)), state_(std::move(state)) {
    state_->lingering_refusals.fetch_add(1);
  }
  ~lingering_refusal() {
    state_->lingering_refusals.fetch_sub(1);
  }

  void start() {
    stream_.expires_after(refusal_linger_time);
    read();
  }

private:
  void read() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec)
                                self->read();
                              // else: closed by the client, or the time is up;
                              // the stream closes with this object.
                            });
  }

  http_stream stream_;
  std::shared_ptr<server_state> state_;
  std::array<char, 2048> discard_;
};

std::string date_now() {
  auto now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[40];
  auto length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return {text, length};
}

} // namespace

std::string connection_limit_reason(std::size_t max_connections) {
  return "connection limit reached (" + std::to_string(max_connections) + ")";
}

connection_refuser::connection_refuser(std::shared_ptr<server_state> state)
  : state_(std::move(state)) {
}

http_response connection_refuser::response_for(const std::string& reason) {
  auto& cached = reason == descriptors_reason ? descriptors_response_ : limit_response_;
  if (cached.result_int() != 503 || (&cached == &limit_response_ && limit_reason_ != reason)) {
    std::string reasons[] = {reason};
    cached = unready_response(reasons, {});
    cached.set(http::field::server, "troupe");
    cached.keep_alive(false);
    cached.prepare_payload();
    if (&cached == &limit_response_)
      limit_reason_ = reason;
  }
  auto response = cached;
  response.set(http::field::date, date_now());
  return response;
}

void connection_refuser::refuse(http_socket socket, const std::string& reason,
                                bool may_linger) {
  state_->connections_refused.fetch_add(1);
  beast::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  state_->log.warn("http connection refused",
                   {{"event.reason", reason},
                    {"client.address",
                     ec ? std::string{} : peer.address().to_string() + ":"
                                            + std::to_string(peer.port())}});
  std::string bytes;
  append_response_bytes(response_for(reason), true, bytes);
  const int fd = socket.native_handle();
  // A fresh connection's send buffer takes a few hundred bytes at once; if
  // not, the client gets the close alone.
  (void)::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  std::array<char, 4096> discard;
  for (int i = 0; i < 16; ++i)
    if (::recv(fd, discard.data(), discard.size(), MSG_DONTWAIT) <= 0)
      break;
  socket.shutdown(net::socket_base::shutdown_send, ec);
  if (may_linger && state_->lingering_refusals.load() < max_lingering_refusals) {
    std::make_shared<lingering_refusal>(std::move(socket), state_)->start();
    return;
  }
  socket.close(ec);
}

} // namespace troupe::gateway::detail
