#include "consensus_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <stdexcept>

namespace troupe::cluster {

std::string consensus_host(const std::string& host, const std::string& where) {
  in_addr literal{};
  if (::inet_pton(AF_INET, host.c_str(), &literal) == 1)
    return host;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    throw std::runtime_error(where + ": " + host
                             + " is an IPv6 address; the consensus log takes IPv4 addresses "
                               "and names that resolve to one");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (auto rv = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rv != 0)
    throw std::runtime_error(where + ": " + host
                             + " has no IPv4 address for the consensus log ("
                             + ::gai_strerror(rv) + ")");
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned{found, &::freeaddrinfo};
  char text[INET_ADDRSTRLEN] = {};
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  if (::inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text) == nullptr)
    throw std::runtime_error(where + ": " + host + " has no IPv4 address for the consensus log");
  return text;
}

} // namespace troupe::cluster
