#include <catch2/catch.hpp>

#include "troupe/runtime/restart_tracker.hpp"

using namespace std::chrono_literals;
using troupe::runtime::restart_policy;
using troupe::runtime::restart_tracker;

namespace {

restart_policy policy(std::uint32_t max, std::chrono::milliseconds window,
                      std::chrono::milliseconds initial,
                      std::chrono::milliseconds cap) {
  restart_policy p;
  p.max_restarts = max;
  p.window = window;
  p.backoff_initial = initial;
  p.backoff_max = cap;
  return p;
}

} // namespace

TEST_CASE("restart back-off doubles from the initial delay up to the cap",
          "[runtime][supervision]") {
  restart_tracker tracker{policy(10, 60s, 10ms, 50ms)};
  auto t0 = restart_tracker::clock::time_point{} + 1h;
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 5; ++i) {
    auto d = tracker.on_failure(t0 + i * 1ms);
    REQUIRE_FALSE(d.give_up);
    delays.push_back(d.delay.count());
  }
  CHECK(delays == std::vector<std::int64_t>{10, 20, 40, 50, 50});
}

TEST_CASE("more than max_restarts failures within the window give up",
          "[runtime][supervision]") {
  restart_tracker tracker{policy(3, 10s, 1ms, 1s)};
  auto t0 = restart_tracker::clock::time_point{} + 1h;
  CHECK_FALSE(tracker.on_failure(t0).give_up);
  CHECK_FALSE(tracker.on_failure(t0 + 1s).give_up);
  CHECK_FALSE(tracker.on_failure(t0 + 2s).give_up);
  CHECK(tracker.on_failure(t0 + 3s).give_up);
}

TEST_CASE("failures older than the window are forgotten",
          "[runtime][supervision]") {
  restart_tracker tracker{policy(2, 10s, 10ms, 1s)};
  auto t0 = restart_tracker::clock::time_point{} + 1h;
  CHECK_FALSE(tracker.on_failure(t0).give_up);
  CHECK_FALSE(tracker.on_failure(t0 + 1s).give_up);
  // Both earlier failures are more than 10 s old: this is the first again,
  // with the initial back-off.
  auto d = tracker.on_failure(t0 + 12s);
  CHECK_FALSE(d.give_up);
  CHECK(d.delay == 10ms);
}

TEST_CASE("reset forgets every failure", "[runtime][supervision]") {
  restart_tracker tracker{policy(1, 10s, 10ms, 1s)};
  auto t0 = restart_tracker::clock::time_point{} + 1h;
  CHECK_FALSE(tracker.on_failure(t0).give_up);
  CHECK(tracker.on_failure(t0 + 1ms).give_up);
  tracker.reset();
  CHECK_FALSE(tracker.on_failure(t0 + 2ms).give_up);
}
