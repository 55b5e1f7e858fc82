#include "http_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "connection_refusal.hpp"
#include "http_connection.hpp"
#include "server_state.hpp"
#include "troupe/runtime/logger.hpp"

namespace troupe::gateway {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// How long drain() waits, after its deadline, for the 503s to be written.
/// A write takes longer only when the client stopped reading (its window
/// and our send buffer are full), and such a client is not waiting for it.
constexpr std::chrono::seconds late_answer_grace{1};

/// How long after accept() failed for want of descriptors /readyz says so.
constexpr std::chrono::seconds descriptors_short_shown{1};

/// A descriptor kept open for the moment the process runs out: closed, it
/// lets accept() take the waiting connection so that the client gets a 503
/// and a close rather than waiting in the backlog (the "idle descriptor"
/// trick of libev and nginx-style servers), then opened again.
class spare_descriptor {
public:
  spare_descriptor() {
    acquire();
  }
  ~spare_descriptor() {
    release();
  }
  spare_descriptor(const spare_descriptor&) = delete;
  spare_descriptor& operator=(const spare_descriptor&) = delete;

  /// Closes it; false when there was none (it could not be opened again).
  bool release() {
    if (fd_ < 0)
      return false;
    ::close(fd_);
    fd_ = -1;
    return true;
  }

  void acquire() {
    if (fd_ < 0)
      fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

private:
  int fd_ = -1;
};

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == net::error::no_descriptors
         || ec == boost::system::errc::too_many_files_open_in_system;
}

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace

// One io_context per I/O thread, each connection bound to one of them for
// its whole life: a connection's handlers all run on one thread without a
// strand, and no io_context is shared between threads (the model of nginx's
// and Envoy's workers).
struct io_worker {
  io_worker() : io(1), work(io.get_executor()) {
  }
  net::io_context io;  // concurrency hint 1: run by one thread
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;
};

struct http_server::impl {
  impl(gateway_config config, request_handler handler, runtime::logger& log)
    : state(std::make_shared<detail::server_state>(std::move(config), std::move(handler), log)),
      workers(make_workers(state->config.io_threads)),
      acceptor(workers.front()->io), accept_retry(workers.front()->io), refuser(state) {
  }

  static std::vector<std::unique_ptr<io_worker>> make_workers(std::size_t count) {
    if (count == 0) {
      // Half the cores: the actor scheduler has a worker per core, and every
      // call goes from an I/O thread to a worker and back. With both pools at
      // one per core the cores are oversubscribed 2:1, and the extra context
      // switches showed as tail latency at the same throughput (bench/gateway
      // on 2 cores: p99 2.7-4.5 ms with two I/O threads, 1.6-1.7 ms with one).
      count = std::thread::hardware_concurrency() / 2;
    }
    std::vector<std::unique_ptr<io_worker>> result;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, count); ++i)
      result.push_back(std::make_unique<io_worker>());
    return result;
  }

  void accept() {
    // Round robin over the I/O threads.
    auto index = next_worker++ % workers.size();
    auto& target = *workers[index];
    acceptor.async_accept(target.io.get_executor(), [this, index](boost::system::error_code ec,
                                                                  detail::http_socket socket) {
      if (!acceptor.is_open())
        return;  // drain() or stop()
      if (ec && out_of_descriptors(ec)) {
        state->descriptors_short_at.store(steady_ns());
        if (refuse_on_spare_descriptor(*workers[index])) {
          accept();
          return;
        }
      }
      if (ec) {
        // Out of file descriptors, with no spare to answer on: wait rather
        // than spin.
        state->log.error("http accept failed", {{"error.message", ec.message()}});
        accept_retry.expires_after(std::chrono::milliseconds{100});
        accept_retry.async_wait([this](boost::system::error_code wait_ec) {
          if (!wait_ec && acceptor.is_open())
            accept();
        });
        return;
      }
      if (state->open_connections.load() >= state->max_connections) {
        // Only this thread adds connections: the count cannot pass the limit.
        refuser.refuse(std::move(socket), detail::connection_limit_reason(state->max_connections),
                       true);
        accept();
        return;
      }
      std::make_shared<detail::http_connection>(std::move(socket), state, index)->start();
      accept();
    });
  }

  /// accept() failed for want of descriptors: answers the waiting connection
  /// 503 on the spare descriptor. False when there is no spare or nothing to
  /// accept after all.
  bool refuse_on_spare_descriptor(io_worker& target) {
    if (!spare.release())
      return false;
    boost::system::error_code ec;
    detail::http_socket socket{target.io.get_executor()};
    acceptor.accept(socket, ec);  // non-blocking: would_block if it went away
    if (!ec)
      refuser.refuse(std::move(socket), detail::descriptors_reason, false);
    spare.acquire();
    return !ec;
  }

  /// Runs `what` on each open connection's I/O thread.
  void post_to_connections(void (detail::http_connection::*what)());

  /// Waits until no request is in progress or `until`; true for the former.
  bool wait_until_answered(std::chrono::steady_clock::time_point until);

  std::shared_ptr<detail::server_state> state;
  std::vector<std::unique_ptr<io_worker>> workers;
  tcp::acceptor acceptor;  // on the first worker
  net::steady_timer accept_retry;
  detail::connection_refuser refuser;  // acceptor's thread only
  spare_descriptor spare;              // acceptor's thread only, after listen()
  std::size_t next_worker = 0;  // acceptor's thread only
  bool stopped = false;
};

http_server::http_server(gateway_config config, request_handler handler, runtime::logger& log)
  : impl_(std::make_unique<impl>(std::move(config), std::move(handler), log)) {
}

http_server::~http_server() {
  stop();
}

std::size_t http_server::io_threads() const noexcept {
  return impl_->workers.size();
}

tcp::endpoint http_server::listen() {
  const auto& config = impl_->state->config;
  auto fail = [&](const char* step, const boost::system::error_code& ec) {
    throw std::system_error(ec, std::string{step} + " " + config.host + ":"
                                  + std::to_string(config.port));
  };
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(config.host, ec);
  if (!ec) {
    endpoint = {address, config.port};
  } else {
    // A host name ("localhost"): resolved once, at start, on this thread.
    tcp::resolver resolver{impl_->workers.front()->io};
    auto results = resolver.resolve(config.host, std::to_string(config.port),
                                    tcp::resolver::passive, ec);
    if (ec || results.empty())
      fail("cannot resolve", ec ? ec : net::error::host_not_found);
    endpoint = results.begin()->endpoint();
  }
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (ec)
    fail("cannot open a socket for", ec);
  acceptor.set_option(net::socket_base::reuse_address{true}, ec);
  acceptor.bind(endpoint, ec);
  if (ec)
    fail("cannot bind", ec);
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    fail("cannot listen on", ec);
  // For the synchronous accept() on the spare descriptor, which must not wait.
  acceptor.non_blocking(true, ec);
  return acceptor.local_endpoint();
}

void http_server::start() {
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] { impl->accept(); });
  for (auto& worker : impl_->workers)
    worker->thread = std::thread{[w = worker.get()] { w->io.run(); }};
}

tcp::endpoint http_server::local_endpoint() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec);
}

bool http_server::draining() const noexcept {
  return impl_->state->draining.load();
}

server_load http_server::load() const noexcept {
  const auto& state = *impl_->state;
  server_load load;
  load.connections_open = state.open_connections.load();
  load.max_connections = state.max_connections;
  load.connections_refused = state.connections_refused.load();
  load.body_bytes_in_flight = state.bodies.in_use();
  load.max_body_memory = state.bodies.limit();
  load.body_reads_paused = state.bodies.waiting();
  load.slow_clients_dropped = state.slow_clients_dropped.load();
  return load;
}

void http_server::bounds_reached(std::vector<std::string>& reasons) const {
  const auto& state = *impl_->state;
  if (state.open_connections.load() >= state.max_connections)
    reasons.push_back(detail::connection_limit_reason(state.max_connections));
  auto short_at = state.descriptors_short_at.load();
  if (short_at != 0
      && steady_ns() - short_at
           < std::chrono::nanoseconds{descriptors_short_shown}.count())
    reasons.emplace_back(detail::descriptors_reason);
  if (state.bodies.waiting() > 0)
    reasons.push_back("request body memory budget reached ("
                      + std::to_string(state.bodies.limit()) + " bytes)");
}

void http_server::impl::post_to_connections(void (detail::http_connection::*what)()) {
  std::vector<std::shared_ptr<detail::http_connection>> open;
  {
    std::lock_guard lock{state->connections_mutex};
    for (auto& [id, weak] : state->connections)
      if (auto connection = weak.lock())
        open.push_back(std::move(connection));
  }
  // Posted outside the lock: the last reference to a connection may be ours,
  // and its destructor takes the lock.
  for (auto& connection : open)
    net::post(connection->get_executor(), [connection, what] { (*connection.*what)(); });
}

bool http_server::impl::wait_until_answered(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock{state->progress_mutex};
  return state->progress_changed.wait_until(
    lock, until, [&] { return state->requests_in_progress.load() == 0; });
}

drain_outcome http_server::drain(std::chrono::steady_clock::time_point deadline) {
  auto& d = *impl_;
  d.state->draining.store(true);
  net::post(d.acceptor.get_executor(), [impl = impl_.get()] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_retry.cancel();
  });
  d.post_to_connections(&detail::http_connection::on_drain);
  drain_outcome outcome;
  if (d.wait_until_answered(deadline))
    return outcome;
  outcome.completed = false;
  d.state->drain_deadline_passed.store(true);
  d.post_to_connections(&detail::http_connection::on_drain_deadline);
  d.wait_until_answered(std::chrono::steady_clock::now() + late_answer_grace);
  outcome.answered_unavailable = d.state->answered_at_drain_deadline.load();
  outcome.abandoned = d.state->requests_in_progress.load();
  return outcome;
}

void http_server::stop() {
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  impl_->state->draining.store(true);
  {
    std::unique_lock lock{impl_->state->responses_mutex};
    impl_->state->accepting_responses = false;
  }
  for (auto& worker : impl_->workers) {
    worker->work.reset();
    worker->io.stop();
  }
  for (auto& worker : impl_->workers)
    if (worker->thread.joinable())
      worker->thread.join();
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  // Connections still open are destroyed, and their sockets closed, with the
  // handlers each io_context holds when it is destroyed (with the impl).
}

} // namespace troupe::gateway
