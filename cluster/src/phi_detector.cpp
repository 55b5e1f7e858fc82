#include "phi_detector.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::cluster {

phi_detector::phi_detector(settings s) : settings_(s) {
  // Two samples around the assumed interval, so that the first beats are
  // judged as a steady sender's would be.
  auto first = static_cast<double>(s.first_interval.count());
  for (double sample : {first - first / 4, first + first / 4}) {
    intervals_ms_.push_back(sample);
    sum_ += sample;
    sum_squares_ += sample * sample;
  }
}

void phi_detector::heartbeat(clock::time_point now) {
  if (last_) {
    auto interval = std::chrono::duration<double, std::milli>(now - *last_).count();
    intervals_ms_.push_back(interval);
    sum_ += interval;
    sum_squares_ += interval * interval;
    if (intervals_ms_.size() > settings_.window) {
      auto old = intervals_ms_.front();
      intervals_ms_.pop_front();
      sum_ -= old;
      sum_squares_ -= old * old;
    }
  }
  last_ = now;
}

double phi_detector::phi(clock::time_point now) const {
  if (!last_)
    return 0;
  auto n = static_cast<double>(intervals_ms_.size());
  auto mean = sum_ / n + static_cast<double>(settings_.acceptable_pause.count());
  auto variance = std::max(0.0, sum_squares_ / n - (sum_ / n) * (sum_ / n));
  auto deviation =
    std::max(std::sqrt(variance), static_cast<double>(settings_.min_std_deviation.count()));
  auto elapsed = std::chrono::duration<double, std::milli>(now - *last_).count();
  // The normal distribution's tail by the logistic approximation (as Akka's):
  // P(later than elapsed) ~ 1 / (1 + e^(y(1.5976 + 0.070566 y^2))).
  auto y = (elapsed - mean) / deviation;
  auto e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  auto p_later = elapsed > mean ? e / (1.0 + e) : 1.0 - 1.0 / (1.0 + e);
  if (p_later <= 0)
    return 100.0;  // beyond a double's reach: as suspect as it gets
  return -std::log10(p_later);
}

} // namespace troupe::cluster
