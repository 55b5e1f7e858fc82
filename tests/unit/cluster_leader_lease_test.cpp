// The leader's lease runs from the newest heartbeat of its own that a
// majority of the voters answered (cluster/src/leader_lease.hpp).
#include <catch2/catch.hpp>

#include "cluster/src/leader_lease.hpp"

namespace troupe::cluster {
namespace {

using namespace std::chrono_literals;

const auto t0 = lease_clock::time_point{} + 1h;

} // namespace

TEST_CASE("leader lease: three voters, the leader and one answer make a majority") {
  auto now = t0 + 10s;
  // The leader itself (now), one follower that answered a heartbeat sent at
  // t0 + 9.8 s, one that never answered.
  auto at = majority_answered_at({now, t0 + 9800ms}, 3);
  REQUIRE(at.has_value());
  CHECK(*at == t0 + 9800ms);
}

TEST_CASE("leader lease: with answers from every voter, the majority-th newest counts") {
  auto now = t0 + 10s;
  CHECK(majority_answered_at({now, t0 + 9s, t0 + 9900ms}, 3) == t0 + 9900ms);
  // Five voters: three must have answered at or after the time returned.
  CHECK(majority_answered_at({t0 + 1s, now, t0 + 8s, t0 + 9s, t0 + 2s}, 5) == t0 + 8s);
}

TEST_CASE("leader lease: no lease without a majority's answers, however many heartbeats arrive") {
  auto now = t0 + 10s;
  // A leader resumed after a freeze: its followers' heartbeats arrive, but
  // none answers a heartbeat it sent (they follow another leader now), so
  // only the leader itself counts.
  CHECK_FALSE(majority_answered_at({now}, 3).has_value());
  CHECK_FALSE(majority_answered_at({now, t0 + 9s}, 5).has_value());
  CHECK_FALSE(majority_answered_at({}, 0).has_value());
}

TEST_CASE("leader lease: answers to heartbeats sent before a freeze give a lease that ran out") {
  // Frozen at t0 for 6 s: the newest heartbeats the followers answered left
  // before the freeze, so a 1 s lease from there ended long before now.
  auto now = t0 + 6s;
  auto at = majority_answered_at({now, t0 - 50ms, t0 - 150ms}, 3);
  REQUIRE(at.has_value());
  CHECK(*at + 1s < now);
}

TEST_CASE("leader lease: a lone voter leads on its own") {
  auto now = t0;
  CHECK(majority_answered_at({now}, 1) == now);
}

} // namespace troupe::cluster
