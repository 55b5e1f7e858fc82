#include "troupe/runtime/scheduler_settings.hpp"

#include <chrono>

namespace troupe::runtime {

void apply_scheduler_settings(caf::actor_system_config& cfg, std::size_t threads) {
  cfg.set("scheduler.max-threads", threads);
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  cfg.set("work-stealing.relaxed-sleep-duration",
          caf::timespan{std::chrono::milliseconds{1}});
}

} // namespace troupe::runtime
