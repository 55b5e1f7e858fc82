// host_load and inflight_budget: the counts a call is admitted against, and
// the node's bound on calls in flight, which must hold under any
// interleaving of senders and hosts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "troupe/runtime/host_load.hpp"
#include "troupe/runtime/service_table.hpp"

using troupe::runtime::admission;
using troupe::runtime::host_load;
using troupe::runtime::inflight_budget;
using troupe::runtime::service_entry;

TEST_CASE("host_load: the mailbox bound refuses the call past it", "[runtime][load]") {
  service_entry service;
  auto budget = std::make_shared<inflight_budget>(100, 4, 8);
  host_load load{budget, service};
  for (int i = 0; i < 3; ++i)
    REQUIRE(load.admit(3) == admission::admitted);
  CHECK(load.admit(3) == admission::mailbox_full);
  CHECK(load.queued() == 3);
  CHECK(load.inflight() == 3);
  CHECK(load.queued_high_water() == 3);
  // Taken out of the mailbox, still in flight: room in the mailbox again.
  load.dequeued();
  CHECK(load.queued() == 2);
  CHECK(load.admit(3) == admission::admitted);
  CHECK(load.inflight() == 4);
  for (int i = 0; i < 4; ++i)
    load.release();
  CHECK(load.inflight() == 0);
  CHECK(&load.service() == &service);
}

TEST_CASE("host_load: the node's bound on calls in flight holds across hosts",
          "[runtime][load]") {
  service_entry service;
  // A small limit for its hosts: no spare tokens, the bound is exact.
  auto budget = inflight_budget::for_hosts(5, 2);
  REQUIRE(budget->spare() == 0);
  host_load a{budget, service};
  host_load b{budget, service};
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    auto& host = i % 2 == 0 ? a : b;
    if (host.admit(100) == admission::admitted)
      ++admitted;
    else
      host.count_shed();
  }
  CHECK(admitted == 5);
  CHECK(a.inflight() + b.inflight() == 5);
  CHECK(budget->reserved() == 5);
  CHECK(a.shed() + b.shed() == 5);
  // A call that arrived from elsewhere is bounded alike.
  CHECK_FALSE(a.admit_arrived());
  // An answer frees a place, for either host.
  a.release();
  CHECK(b.admit_arrived());
  CHECK(a.inflight() + b.inflight() == 5);
}

TEST_CASE("host_load: an idle host keeps at most two chunks of the budget",
          "[runtime][load]") {
  service_entry service;
  auto budget = inflight_budget::for_hosts(1000, 4);
  REQUIRE(budget->chunk() == 15);  // 1000 / (16 * 4)
  REQUIRE(budget->spare() == 30);
  host_load load{budget, service};
  for (int i = 0; i < 100; ++i)
    REQUIRE(load.admit(1000) == admission::admitted);
  CHECK(load.reserved() >= 100);
  for (int i = 0; i < 100; ++i)
    load.release();
  CHECK(load.inflight() == 0);
  CHECK(load.reserved() <= budget->spare());
  CHECK(budget->reserved() == load.reserved());
  // Spare tokens of all hosts stay within an eighth of the limit.
  CHECK(4 * budget->spare() <= 1000 / 8);
}

TEST_CASE("host_load: under concurrent senders and answers the bound is never passed",
          "[runtime][load]") {
  constexpr std::uint64_t limit = 64;
  constexpr int threads = 8;
  constexpr int calls_per_thread = 20'000;
  service_entry service;
  auto budget = std::make_shared<inflight_budget>(limit, 3, 6);
  std::vector<std::unique_ptr<host_load>> hosts;
  for (int i = 0; i < 4; ++i)
    hosts.push_back(std::make_unique<host_load>(budget, service));
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> most{0};
  std::atomic<std::uint64_t> admitted{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::vector<host_load*> held;
      for (int i = 0; i < calls_per_thread; ++i) {
        auto& host = *hosts[static_cast<std::size_t>((t + i) % 4)];
        if (host.admit(1'000'000) == admission::admitted) {
          auto now = in_flight.fetch_add(1) + 1;
          auto seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          host.dequeued();
          held.push_back(&host);
          admitted.fetch_add(1);
        }
        // Answer some now and some later, out of order.
        if (held.size() > static_cast<std::size_t>(i % 7)) {
          in_flight.fetch_sub(1);
          held.front()->release();
          held.erase(held.begin());
        }
      }
      for (auto* h : held) {
        in_flight.fetch_sub(1);
        h->release();
      }
    });
  for (auto& w : workers)
    w.join();
  CHECK(most.load() <= static_cast<std::int64_t>(limit));
  CHECK(admitted.load() > 0);
  for (auto& h : hosts) {
    CHECK(h->inflight() == 0);
    CHECK(h->queued() == 0);
    CHECK(h->reserved() <= budget->spare());
  }
  std::uint64_t held_by_hosts = 0;
  for (auto& h : hosts)
    held_by_hosts += h->reserved();
  CHECK(budget->reserved() == held_by_hosts);
}
