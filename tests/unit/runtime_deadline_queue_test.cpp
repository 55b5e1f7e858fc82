#include <catch2/catch.hpp>

#include <vector>

#include "runtime/src/deadline_queue.hpp"

using troupe::runtime::deadline_queue;

TEST_CASE("expired requests run their expiry once, in deadline order",
          "[runtime][deadlines]") {
  deadline_queue q;
  std::vector<int> expired;
  q.add(300, [&] { expired.push_back(3); });
  q.add(100, [&] { expired.push_back(1); });
  q.add(200, [&] { expired.push_back(2); });
  q.expire(250);
  CHECK(expired == std::vector<int>{1, 2});
  q.expire(250);
  CHECK(expired == std::vector<int>{1, 2});
  CHECK(q.next_deadline() == 300);
  q.expire(1000);
  CHECK(expired == std::vector<int>{1, 2, 3});
  CHECK(q.pending() == 0);
  CHECK_FALSE(q.next_deadline());
}

TEST_CASE("an answered request never expires, and an expired one drops its answer",
          "[runtime][deadlines]") {
  deadline_queue q;
  int expiries = 0;
  auto answered = q.add(100, [&] { ++expiries; });
  auto late = q.add(200, [&] { ++expiries; });
  CHECK(q.complete(answered));
  q.expire(500);
  CHECK(expiries == 1);
  CHECK_FALSE(q.complete(late));
}

TEST_CASE("the timer is armed for the earliest deadline only",
          "[runtime][deadlines]") {
  deadline_queue q;
  q.add(10'000'000'000, [] {});
  auto first = q.timer_to_arm(0);
  REQUIRE(first);
  CHECK(first->count() == 10'000'000'000);
  q.add(20'000'000'000, [] {});
  CHECK_FALSE(q.timer_to_arm(0));  // the armed timer comes first
  q.add(5'000'000'000, [] {});
  auto sooner = q.timer_to_arm(0);
  REQUIRE(sooner);
  CHECK(sooner->count() == 5'000'000'000);
  q.timer_fired();
  q.expire(5'000'000'000);
  auto next = q.timer_to_arm(5'000'000'000);
  REQUIRE(next);
  CHECK(next->count() == 5'000'000'000);
}

TEST_CASE("answered entries do not pile up", "[runtime][deadlines]") {
  deadline_queue q;
  // A request that stays pending at the front, then many answered ones.
  q.add(1, [] {});
  for (int i = 0; i < 100'000; ++i)
    q.complete(q.add(1'000 + i, [] {}));
  CHECK(q.pending() == 1);
  CHECK(q.held() <= 2 * q.pending() + 1024);
  CHECK(q.next_deadline() == 1);
}
