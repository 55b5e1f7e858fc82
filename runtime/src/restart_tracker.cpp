#include "troupe/runtime/restart_tracker.hpp"

#include <algorithm>

namespace troupe::runtime {

std::chrono::milliseconds restart_delay(const restart_policy& policy, std::size_t n) noexcept {
  // Doubling without overflow: stop shifting once past the cap.
  auto delay = policy.backoff_initial;
  for (std::size_t i = 1; i < n && delay < policy.backoff_max; ++i)
    delay *= 2;
  return std::min(delay, policy.backoff_max);
}

restart_tracker::restart_tracker(restart_policy policy) : policy_(policy) {
  // nop
}

restart_tracker::decision restart_tracker::on_failure(clock::time_point now) {
  std::lock_guard guard{mtx_};
  while (!failures_.empty() && now - failures_.front() > policy_.window)
    failures_.pop_front();
  failures_.push_back(now);
  auto n = failures_.size();
  if (n > policy_.max_restarts)
    return {true, std::chrono::milliseconds{0}};
  return {false, restart_delay(policy_, n)};
}

void restart_tracker::reset() {
  std::lock_guard guard{mtx_};
  failures_.clear();
}

} // namespace troupe::runtime
