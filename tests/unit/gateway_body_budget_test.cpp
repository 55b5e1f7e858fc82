#include <catch2/catch.hpp>

#include <vector>

#include "gateway/src/body_budget.hpp"

using troupe::gateway::detail::body_budget;
using troupe::gateway::detail::body_charge;

TEST_CASE("body budget: takes what fits, queues the rest in order", "[gateway]") {
  body_budget budget{100};
  CHECK(budget.try_take(60));
  CHECK_FALSE(budget.try_take(50));
  std::vector<int> granted;
  auto first = budget.take_or_wait(50, [&] { granted.push_back(1); });
  auto second = budget.take_or_wait(10, [&] { granted.push_back(2); });
  CHECK(first != 0);
  CHECK(second != 0);  // fits, but waits behind the first: first come, first served
  CHECK(budget.waiting() == 2);
  CHECK_FALSE(budget.try_take(1));  // nor does anyone jump the queue

  budget.give_back(60);
  CHECK(granted == std::vector<int>{1, 2});
  CHECK(budget.in_use() == 60);
  CHECK(budget.waiting() == 0);
  CHECK_FALSE(budget.cancel(first));  // granted already
}

TEST_CASE("body budget: a withdrawn wait lets the next one through", "[gateway]") {
  body_budget budget{100};
  CHECK(budget.take_or_wait(90, [] {}) == 0);  // fits at once
  bool small_granted = false;
  auto big = budget.take_or_wait(80, [] { FAIL("withdrawn"); });
  budget.take_or_wait(10, [&] { small_granted = true; });
  CHECK_FALSE(small_granted);
  CHECK(budget.cancel(big));
  CHECK(small_granted);
  CHECK(budget.in_use() == 100);
}

TEST_CASE("body budget: bytes already in memory are taken over the limit", "[gateway]") {
  body_budget budget{100};
  budget.take_anyway(150);
  CHECK(budget.in_use() == 150);
  bool granted = false;
  CHECK(budget.take_or_wait(40, [&] { granted = true; }) != 0);
  budget.give_back(50);
  CHECK_FALSE(granted);  // 100 in use
  budget.give_back(50);
  CHECK(granted);
  CHECK(budget.in_use() == 90);
}

TEST_CASE("body charge: gives back on reset, shrink and destruction", "[gateway]") {
  body_budget budget{100};
  budget.take_anyway(80);
  {
    body_charge charge{budget, 80};
    charge.shrink_to(30);
    CHECK(budget.in_use() == 30);
    body_charge moved = std::move(charge);
    CHECK(charge.bytes() == 0);
    CHECK(moved.bytes() == 30);
  }
  CHECK(budget.in_use() == 0);
}
