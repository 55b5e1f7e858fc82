// Per-key supervision of keyed services, with time given by the test: each
// key's own back-off and restart budget, quarantine and its growth, the
// systematic rule across keys and shards, the bound on records, expiry and
// reset.
#include <catch2/catch.hpp>

#include <string>

#include "runtime/src/key_supervisor.hpp"
#include "troupe/runtime/key_failure_monitor.hpp"

using namespace std::chrono_literals;
using troupe::runtime::key_failure_monitor;
using troupe::runtime::key_supervision_policy;
using troupe::runtime::key_supervisor;
using troupe::runtime::restart_policy;
using action = troupe::runtime::supervision_decision::action;

namespace {

restart_policy restarts(std::uint32_t max, std::chrono::milliseconds window = 10s) {
  restart_policy p;
  p.max_restarts = max;
  p.window = window;
  p.backoff_initial = 10ms;
  p.backoff_max = 1s;
  return p;
}

key_supervision_policy keys(std::uint32_t systematic_keys = 10,
                            std::uint32_t systematic_percent = 50,
                            std::uint32_t max_tracked = 10'000) {
  key_supervision_policy p;
  p.quarantine_initial = 1s;
  p.quarantine_max = 5s;
  p.systematic_keys = systematic_keys;
  p.systematic_percent = systematic_percent;
  p.max_tracked_keys = max_tracked;
  return p;
}

const auto t0 = key_supervisor::clock::time_point{} + 1h;

/// Fails `key` until it is quarantined (bounded); returns the quarantine.
std::chrono::milliseconds quarantine(key_supervisor& s, const std::string& key,
                                     key_supervisor::clock::time_point at) {
  for (int i = 0; i < 100; ++i) {
    auto d = s.on_failure(key, at + i * 1ms, 1000);
    REQUIRE(d.what != action::give_up);
    if (d.what == action::quarantine)
      return d.delay;
  }
  FAIL("never quarantined");
  return {};
}

} // namespace

TEST_CASE("each key's back-off doubles with its own failures", "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(10), keys()};
  key_supervisor s{monitor};
  std::vector<std::int64_t> a;
  for (int i = 0; i < 3; ++i) {
    auto d = s.on_failure("a", t0 + i * 1ms, 100);
    REQUIRE(d.what == action::restart);
    a.push_back(d.delay.count());
  }
  CHECK(a == std::vector<std::int64_t>{10, 20, 40});
  // Another key starts from the initial back-off.
  auto b = s.on_failure("b", t0 + 5ms, 100);
  CHECK(b.what == action::restart);
  CHECK(b.delay == 10ms);
}

TEST_CASE("a key is quarantined at exactly its (max_restarts + 1)-th failure "
          "within the window", "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(3), keys()};
  key_supervisor s{monitor};
  for (int i = 0; i < 3; ++i) {
    INFO("failure " << i + 1);
    REQUIRE(s.on_failure("k", t0 + i * 1s, 100).what == action::restart);
    CHECK(s.quarantine_left("k", t0 + i * 1s) == 0ms);
  }
  auto d = s.on_failure("k", t0 + 3s, 100);
  REQUIRE(d.what == action::quarantine);
  CHECK(d.delay == 1s);
  CHECK(s.quarantine_left("k", t0 + 3s) == 1s);
  CHECK(s.quarantine_left("k", t0 + 3s + 400ms) == 600ms);
  CHECK(s.quarantine_left("k", t0 + 4s) == 0ms);
  // Other keys are untouched.
  CHECK(s.quarantine_left("other", t0 + 3s) == 0ms);
  CHECK(s.on_failure("other", t0 + 3s, 100).what == action::restart);
}

TEST_CASE("a key's failures older than the window are forgotten",
          "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(2, 10s), keys()};
  key_supervisor s{monitor};
  CHECK(s.on_failure("k", t0, 100).what == action::restart);
  CHECK(s.on_failure("k", t0 + 1s, 100).what == action::restart);
  // Both earlier failures are more than 10 s old.
  auto d = s.on_failure("k", t0 + 12s, 100);
  CHECK(d.what == action::restart);
  CHECK(d.delay == 10ms);
}

TEST_CASE("a key quarantined again soon after its release stays out twice as "
          "long, up to the maximum; a key that recovered starts over",
          "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(1), keys()};
  key_supervisor s{monitor};
  auto at = t0;
  std::vector<std::int64_t> periods;
  for (int i = 0; i < 5; ++i) {
    auto period = quarantine(s, "k", at);
    periods.push_back(period.count());
    at += period + 10ms;  // fails again just after its release
  }
  CHECK(periods == std::vector<std::int64_t>{1000, 2000, 4000, 5000, 5000});

  // Released, and then no failure for a window and for as long as the last
  // quarantine: the record expires and the next quarantine is the first again.
  auto later = at + 20s;
  s.expire(later);
  CHECK(s.empty());
  CHECK(quarantine(s, "k", later) == 1s);
}

TEST_CASE("the service fails when enough distinct keys fail within the window "
          "and they are enough of its keys", "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(5), keys(4, 50)};
  // Two shards share the service's monitor.
  key_supervisor shard_a{monitor};
  key_supervisor shard_b{monitor};

  SECTION("fewer keys than systematic_keys: isolated, however often they fail") {
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 3; ++k)
        CHECK((k % 2 ? shard_a : shard_b)
                .on_failure("k" + std::to_string(k), t0 + (i * 3 + k) * 1ms, 4)
                .what
              != action::give_up);
  }
  SECTION("the systematic_keys-th distinct key gives up") {
    CHECK(shard_a.on_failure("k0", t0, 4).what == action::restart);
    CHECK(shard_b.on_failure("k1", t0 + 1ms, 4).what == action::restart);
    CHECK(shard_a.on_failure("k2", t0 + 2ms, 4).what == action::restart);
    auto d = shard_b.on_failure("k3", t0 + 3ms, 4);
    CHECK(d.what == action::give_up);
    CHECK(d.reason == "failures across many keys");
  }
  SECTION("the same keys among many healthy ones are not systematic") {
    // 4 failing keys among 100 activations: 4 %.
    for (int k = 0; k < 4; ++k)
      CHECK(shard_a.on_failure("k" + std::to_string(k), t0 + k * 1ms, 100).what
            == action::restart);
    // At half of the keys on the node, they are.
    CHECK(shard_a.on_failure("k4", t0 + 5ms, 10).what == action::give_up);
  }
  SECTION("failures that left the window do not count") {
    CHECK(shard_a.on_failure("k0", t0, 4).what == action::restart);
    CHECK(shard_b.on_failure("k1", t0 + 1ms, 4).what == action::restart);
    CHECK(shard_a.on_failure("k2", t0 + 2ms, 4).what == action::restart);
    CHECK(shard_b.on_failure("k3", t0 + 11s, 4).what == action::restart);
  }
}

TEST_CASE("records of failing keys are bounded by max_tracked_keys: beyond, the "
          "service fails", "[runtime][supervision]") {
  // systematic_keys above the bound: only the bound can give up.
  key_failure_monitor monitor{restarts(5, 10s), keys(100, 50, 3)};
  key_supervisor shard_a{monitor};
  key_supervisor shard_b{monitor};
  CHECK(shard_a.on_failure("a", t0, 1000).what == action::restart);
  CHECK(shard_b.on_failure("b", t0 + 1ms, 1000).what == action::restart);
  CHECK(shard_a.on_failure("c", t0 + 2ms, 1000).what == action::restart);
  CHECK(monitor.observe(t0).tracked == 3);
  // A known key fails again: no new record.
  CHECK(shard_a.on_failure("a", t0 + 3ms, 1000).what == action::restart);
  auto d = shard_b.on_failure("d", t0 + 4ms, 1000);
  CHECK(d.what == action::give_up);
  CHECK(d.reason == "more keys failing at once than max_tracked_keys");
  CHECK(monitor.observe(t0).tracked == 3);

  SECTION("expired records make room again") {
    auto later = t0 + 11s;
    shard_a.expire(later);
    shard_b.expire(later);
    CHECK(shard_a.empty());
    CHECK(shard_b.empty());
    CHECK(monitor.observe(later).tracked == 0);
    CHECK(shard_b.on_failure("d", later, 1000).what == action::restart);
  }
  SECTION("a shard drops its own expired records when it meets the bound") {
    auto later = t0 + 11s;
    CHECK(shard_a.on_failure("e", later, 1000).what == action::restart);
    CHECK(shard_a.size() == 1);
  }
}

TEST_CASE("the monitor shows the keys quarantined now, newest first and bounded",
          "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(0), keys(1000)};
  key_supervisor s{monitor};
  // max_restarts 0: every failure quarantines.
  for (int k = 0; k < 12; ++k)
    REQUIRE(s.on_failure("k" + std::to_string(k), t0 + k * 1ms, 1000).what
            == action::quarantine);
  auto seen = monitor.observe(t0 + 20ms);
  CHECK(seen.quarantined == 12);
  CHECK(seen.quarantines == 12);
  REQUIRE(seen.latest.size() == key_failure_monitor::max_listed);
  CHECK(seen.latest.front().key == "k11");
  CHECK(seen.latest.front().period == 1s);
  CHECK(seen.latest.front().remaining == 1s + 11ms - 20ms);
  CHECK(seen.latest.front().streak == 1);
  CHECK(seen.latest.back().key == "k2");
  // Their quarantines end.
  auto after = monitor.observe(t0 + 2s);
  CHECK(after.quarantined == 0);
  CHECK(after.latest.empty());
  CHECK(after.quarantines == 12);
}

TEST_CASE("a reset lifts the quarantines and forgets the failures",
          "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(1), keys(3, 50)};
  key_supervisor s{monitor};
  quarantine(s, "k", t0);
  CHECK(s.quarantine_left("k", t0 + 10ms) > 0ms);
  CHECK(s.on_failure("x", t0 + 10ms, 2).what == action::restart);
  monitor.reset();
  CHECK(s.quarantine_left("k", t0 + 10ms) == 0ms);
  auto seen = monitor.observe(t0 + 10ms);
  CHECK(seen.quarantined == 0);
  CHECK(seen.tracked == 0);
  // Two distinct keys (k, x) failed before the reset: one more would have
  // been the third. After it, it is the first.
  CHECK(s.on_failure("y", t0 + 20ms, 2).what == action::restart);
  // And the records count starts over: only y's.
  CHECK(monitor.observe(t0 + 20ms).tracked == 1);
  // The streak is forgotten too.
  CHECK(quarantine(s, "k", t0 + 30ms) == 1s);
}

TEST_CASE("the monitor's table of failing keys is bounded too: beyond, the "
          "failures are untrackable", "[runtime][supervision]") {
  key_failure_monitor monitor{restarts(5, 10s), keys(100, 50, 3)};
  using verdict = key_failure_monitor::verdict;
  CHECK(monitor.on_failure("a", t0, 1000) == verdict::isolated);
  CHECK(monitor.on_failure("b", t0, 1000) == verdict::isolated);
  CHECK(monitor.on_failure("c", t0, 1000) == verdict::isolated);
  CHECK(monitor.on_failure("a", t0 + 1ms, 1000) == verdict::isolated);
  CHECK(monitor.on_failure("d", t0 + 2ms, 1000) == verdict::untrackable);
  // Once the failures left the window, there is room again.
  CHECK(monitor.on_failure("d", t0 + 11s, 1000) == verdict::isolated);
}
