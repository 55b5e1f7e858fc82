#include "troupe/gateway/gateway_config.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace troupe::gateway {

std::size_t max_connections_for_descriptors(std::uint64_t soft_limit) {
  // Linux refuses more than fs.nr_open (2^20 by default) descriptors anyway;
  // RLIM_INFINITY would otherwise make the sums below overflow.
  const std::uint64_t s = std::min<std::uint64_t>(soft_limit, std::uint64_t{1} << 20);
  const std::uint64_t reserve = s / 4 + 256;
  const std::uint64_t result = s > reserve ? std::max(s - reserve, s / 4) : s / 4;
  return static_cast<std::size_t>(std::max<std::uint64_t>(result, 1));
}

std::size_t default_max_connections() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return max_connections_for_descriptors(1024);  // the usual default
  return max_connections_for_descriptors(limit.rlim_cur);
}

} // namespace troupe::gateway
