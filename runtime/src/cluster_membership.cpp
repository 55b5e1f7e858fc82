#include "troupe/runtime/cluster_membership.hpp"

namespace troupe::runtime {

cluster_membership::~cluster_membership() = default;

} // namespace troupe::runtime
