#include "supervision_options.hpp"

#include <algorithm>

namespace troupe::runtime {

restart_policy restart_policy_from(const troupe::RestartPolicy& p) {
  restart_policy result;
  if (p.max_restarts() > 0)
    result.max_restarts = p.max_restarts();
  if (p.window_ms() > 0)
    result.window = std::chrono::milliseconds{p.window_ms()};
  if (p.backoff_initial_ms() > 0)
    result.backoff_initial = std::chrono::milliseconds{p.backoff_initial_ms()};
  if (p.backoff_max_ms() > 0)
    result.backoff_max = std::chrono::milliseconds{p.backoff_max_ms()};
  return result;
}

key_supervision_policy key_supervision_from(const troupe::KeySupervision& p) {
  key_supervision_policy result;
  if (p.quarantine_initial_ms() > 0)
    result.quarantine_initial = std::chrono::milliseconds{p.quarantine_initial_ms()};
  if (p.quarantine_max_ms() > 0)
    result.quarantine_max = std::chrono::milliseconds{p.quarantine_max_ms()};
  // A quarantine never shrinks below its first period.
  result.quarantine_max = std::max(result.quarantine_max, result.quarantine_initial);
  if (p.systematic_keys() > 0)
    result.systematic_keys = p.systematic_keys();
  if (p.systematic_percent() > 0)
    result.systematic_percent = std::min<std::uint32_t>(p.systematic_percent(), 100);
  if (p.max_tracked_keys() > 0)
    result.max_tracked_keys = p.max_tracked_keys();
  return result;
}

} // namespace troupe::runtime
