// How a keyed service's declared state, or a stateless service's key-value
// storage, is kept (troupe.StateOptions, troupe.KeyValueOptions in its .proto
// options), with the defaults for what they leave unset.
#pragma once

#include "troupe/options.pb.h"
#include "troupe/runtime/state_store.hpp"

namespace troupe::runtime {

namespace_options state_options_from(const troupe::StateOptions& options);

/// How a stateless service's key-value namespace is kept
/// (troupe.KeyValueOptions).
namespace_options key_value_options_from(const troupe::KeyValueOptions& options);

} // namespace troupe::runtime
