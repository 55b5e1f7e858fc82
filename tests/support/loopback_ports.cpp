#include "support/loopback_ports.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <random>
#include <set>
#include <stdexcept>

namespace troupe::test {

bool loopback_port_free(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::uint16_t free_port_pair() {
  // What this process handed out: a node given a port may not have bound it
  // yet when the next one is picked.
  static std::mutex mtx;
  static std::set<std::uint16_t> given;
  static std::mt19937 rng{std::random_device{}()};
  std::lock_guard guard{mtx};
  std::uniform_int_distribution<int> pick{20'000, 32'000};
  for (int attempt = 0; attempt < 500; ++attempt) {
    auto p = static_cast<std::uint16_t>(pick(rng) & ~1);
    if (given.count(p) || !loopback_port_free(p) || !loopback_port_free(p + 1))
      continue;
    given.insert(p);
    return p;
  }
  throw std::runtime_error("no free pair of ports on 127.0.0.1");
}

} // namespace troupe::test
