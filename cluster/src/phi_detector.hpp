// A phi accrual failure detector (Hayashibara et al., as Akka and Cassandra
// use it): instead of a fixed timeout, the suspicion that a peer failed grows
// with the time since its last heartbeat, measured against the arrival times
// seen so far. phi = -log10(P(a heartbeat comes later than now)), with the
// intervals taken as normally distributed: phi 8 means the heartbeat would be
// this late once in 10^8 times.
//
// `acceptable_pause` is added to the mean (a pause the detector forgives, such
// as a burst of load), and the standard deviation is at least
// `min_std_deviation`, so that a very regular sender is not suspected at its
// first late beat. Not thread-safe: one owner (the cluster agent).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace troupe::cluster {

class phi_detector {
public:
  using clock = std::chrono::steady_clock;

  struct settings {
    std::chrono::milliseconds first_interval{100};  // assumed before any sample
    std::chrono::milliseconds min_std_deviation{100};
    std::chrono::milliseconds acceptable_pause{500};
    std::size_t window = 200;  // intervals kept
  };

  explicit phi_detector(settings s);

  /// A heartbeat arrived at `now`.
  void heartbeat(clock::time_point now);

  /// The suspicion at `now`; 0 before the first heartbeat.
  double phi(clock::time_point now) const;

  std::optional<clock::time_point> last_heartbeat() const noexcept {
    return last_;
  }

private:
  settings settings_;
  std::deque<double> intervals_ms_;
  double sum_ = 0;
  double sum_squares_ = 0;
  std::optional<clock::time_point> last_;
};

} // namespace troupe::cluster
