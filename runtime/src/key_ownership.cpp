#include "troupe/runtime/key_ownership.hpp"

namespace troupe::runtime {

key_ownership::~key_ownership() = default;

} // namespace troupe::runtime
