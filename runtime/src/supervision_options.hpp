// The supervision policies a service declares in its .proto options
// (troupe.RestartPolicy, troupe.KeySupervision), with the defaults for what
// it leaves unset (0).
#pragma once

#include "troupe/options.pb.h"
#include "troupe/runtime/key_failure_monitor.hpp"
#include "troupe/runtime/restart_tracker.hpp"

namespace troupe::runtime {

restart_policy restart_policy_from(const troupe::RestartPolicy& options);

key_supervision_policy key_supervision_from(const troupe::KeySupervision& options);

} // namespace troupe::runtime
