#include "troupe/runtime/directory.hpp"

namespace troupe::runtime {

directory::~directory() = default;

} // namespace troupe::runtime
