// The per-service call count: one slot per writer, summed by readers.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "troupe/runtime/sharded_counter.hpp"

using troupe::runtime::sharded_counter;

TEST_CASE("a sharded counter sums what each writer added to its own slot",
          "[runtime][stats]") {
  sharded_counter calls;
  CHECK(calls.load() == 0);
  constexpr int writers = 4;
  constexpr int adds = 100'000;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([slot = calls.new_slot()] {
      for (int i = 0; i < adds; ++i)
        slot->add();
    });
  for (auto& t : threads)
    t.join();
  CHECK(calls.load() == std::uint64_t{writers} * adds);
}

TEST_CASE("a slot keeps counting after its writer let go of it", "[runtime][stats]") {
  sharded_counter calls;
  calls.new_slot()->add(5);  // an actor that stopped
  auto live = calls.new_slot();
  live->add(2);
  CHECK(calls.load() == 7);
}
