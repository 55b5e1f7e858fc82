// Decides, for one stateless service, what happens after a handler failure:
// restart after a back-off, or give up. Shared by all of the service's
// instances on a node, so that the instances together get one restart budget.
// Keyed services are supervised per key instead (key_failure_monitor.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace troupe::runtime {

/// When a handler throws: restart after a back-off that doubles from
/// backoff_initial up to backoff_max; more than max_restarts within window and
/// the service is marked failed (answers unavailable).
struct restart_policy {
  std::uint32_t max_restarts = 5;
  std::chrono::milliseconds window{10'000};
  std::chrono::milliseconds backoff_initial{10};
  std::chrono::milliseconds backoff_max{1'000};
};

/// The back-off before the restart that follows the n-th failure within the
/// window (n >= 1): backoff_initial * 2^(n-1), capped at backoff_max.
std::chrono::milliseconds restart_delay(const restart_policy& policy, std::size_t n) noexcept;

class restart_tracker {
public:
  using clock = std::chrono::steady_clock;

  struct decision {
    bool give_up = false;
    std::chrono::milliseconds delay{0};  // before the restart, when !give_up
  };

  explicit restart_tracker(restart_policy policy);

  /// Records a failure at `now`. The n-th failure within the policy's window
  /// restarts after backoff_initial * 2^(n-1), capped at backoff_max; the
  /// (max_restarts + 1)-th gives up.
  decision on_failure(clock::time_point now);

  /// Forgets past failures (an operator reset the service).
  void reset();

  const restart_policy& policy() const noexcept {
    return policy_;
  }

private:
  restart_policy policy_;
  std::mutex mtx_;
  std::deque<clock::time_point> failures_;  // within the window, oldest first
};

} // namespace troupe::runtime
