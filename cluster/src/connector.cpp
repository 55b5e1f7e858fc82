#include "connector.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/function_view.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>

namespace troupe::cluster {

namespace {

constexpr std::size_t max_queued = 256;
constexpr std::chrono::milliseconds probe_timeout{1'000};
constexpr std::chrono::milliseconds handshake_timeout{5'000};

} // namespace

std::string probe_tcp(const std::string& host, std::uint16_t port,
                      std::chrono::milliseconds timeout, bool& refused) {
  refused = false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* found = nullptr;
  auto port_text = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0)
    return std::string{"cannot resolve "} + host + ": " + ::gai_strerror(rc);
  std::string error = "no address for " + host;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 0) {
        ::close(fd);
        error = "no answer within " + std::to_string(timeout.count()) + " ms";
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      errno = so_error;
      rc = so_error == 0 ? 0 : -1;
    }
    if (rc == 0) {
      ::close(fd);
      ::freeaddrinfo(found);
      return {};
    }
    refused = errno == ECONNREFUSED;
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return error;
}

connector::connector(caf::actor_system& system, bool tls, std::size_t threads)
  : system_(system), tls_(tls) {
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { work(); });
}

connector::~connector() {
  stop();
}

void connector::connect(std::string host, std::uint16_t port, done_fn done) {
  {
    std::lock_guard guard{mtx_};
    if (!stopping_ && queue_.size() < max_queued) {
      queue_.push_back(job{std::move(host), port, std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(connect_result{{}, false, "too many connection attempts queued"});
}

void connector::stop() {
  std::deque<job> left;
  {
    std::lock_guard guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  for (auto& j : left)
    j.done(connect_result{{}, false, "the node is stopping"});
}

void connector::work() {
  for (;;) {
    job j;
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        return;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    j.done(attempt(j));
  }
}

connect_result connector::attempt(const job& j) {
  connect_result result;
  // A plain connect tells a port that refuses (the process is gone) from
  // one that answers. Not on a TLS port: CAF's OpenSSL transport is not
  // known to take a connection closed before its handshake well.
  auto error = tls_ ? std::string{} : probe_tcp(j.host, j.port, probe_timeout, result.refused);
  if (!error.empty()) {
    result.error = error;
    return result;
  }
  // What caf::io::remote_actor does, with a deadline: it waits for the
  // middleman's answer without one, and a handshake that never completes
  // (a peer too busy to answer, a connection lost mid-way) would hold this
  // thread, and every attempt queued behind it, for good.
  auto handle = tls_ ? system_.openssl_manager().actor_handle()
                     : system_.middleman().actor_handle();
  auto f = caf::make_function_view(handle, caf::duration{handshake_timeout});
  auto answer = f(caf::connect_atom::value, j.host, j.port);
  if (!answer) {
    result.error = system_.render(answer.error());
    return result;
  }
  auto& [node, ptr, interface] = *answer;
  if (!ptr) {
    result.error = "no actor is published at port " + std::to_string(j.port);
    return result;
  }
  if (!interface.empty()) {
    result.error = "the actor at port " + std::to_string(j.port) + " is not a cluster link";
    return result;
  }
  result.peer = caf::actor_cast<caf::actor>(std::move(ptr));
  return result;
}

} // namespace troupe::cluster
