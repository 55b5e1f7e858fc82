#include "leader_lease.hpp"

#include <algorithm>
#include <functional>

namespace troupe::cluster {

std::optional<lease_clock::time_point>
majority_answered_at(std::vector<lease_clock::time_point> answered, std::size_t voters) {
  auto majority = voters / 2 + 1;
  if (voters == 0 || answered.size() < majority)
    return std::nullopt;
  // The majority-th newest answer: that many voters answered at or after it.
  std::nth_element(answered.begin(), answered.begin() + static_cast<long>(majority - 1),
                   answered.end(), std::greater<>{});
  return answered[majority - 1];
}

} // namespace troupe::cluster
