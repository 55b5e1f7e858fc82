// How a keyed service's declared state is kept (troupe.StateOptions in its
// .proto options), with the defaults for what it leaves unset.
#pragma once

#include "troupe/options.pb.h"
#include "troupe/runtime/state_store.hpp"

namespace troupe::runtime {

namespace_options state_options_from(const troupe::StateOptions& options);

} // namespace troupe::runtime
