#include "http_server.hpp"

#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

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
      acceptor(workers.front()->io), accept_retry(workers.front()->io) {
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
      if (ec) {
        // Out of file descriptors, typically: wait rather than spin.
        state->log.error("http accept failed", {{"error.message", ec.message()}});
        accept_retry.expires_after(std::chrono::milliseconds{100});
        accept_retry.async_wait([this](boost::system::error_code wait_ec) {
          if (!wait_ec && acceptor.is_open())
            accept();
        });
        return;
      }
      std::make_shared<detail::http_connection>(std::move(socket), state, index)->start();
      accept();
    });
  }

  /// Runs `what` on each open connection's I/O thread.
  void post_to_connections(void (detail::http_connection::*what)());

  /// Waits until no request is in progress or `until`; true for the former.
  bool wait_until_answered(std::chrono::steady_clock::time_point until);

  std::shared_ptr<detail::server_state> state;
  std::vector<std::unique_ptr<io_worker>> workers;
  tcp::acceptor acceptor;  // on the first worker
  net::steady_timer accept_retry;
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
