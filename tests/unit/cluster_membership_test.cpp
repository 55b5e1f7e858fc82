// The membership's state machine (cluster/src/membership.cpp) and placement:
// where keys go when a member is declared down. Keys of a service with
// durable state stay with the down member (their only copy is in its store)
// until it is back; keys of a service without stay only on up members.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster/src/membership.hpp"
#include "cluster/src/placement.hpp"

namespace {

namespace v1 = troupe::cluster::v1;
using troupe::cluster::apply_command;
using troupe::cluster::placement;

v1::Command join(const std::string& name, std::uint64_t raft_id) {
  v1::Command c;
  auto* m = c.mutable_join();
  m->set_name(name);
  m->set_raft_id(raft_id);
  auto* durable = m->add_services();
  durable->set_name("counter");
  durable->set_keyed(true);
  durable->set_durable(true);
  auto* plain = m->add_services();
  plain->set_name("probe");
  plain->set_keyed(true);
  return c;
}

v1::Command ref(const std::string& name, std::uint64_t incarnation, bool up) {
  v1::Command c;
  auto* r = up ? c.mutable_up() : c.mutable_down();
  r->set_name(name);
  r->set_incarnation(incarnation);
  return c;
}

void apply(v1::Membership& m, const v1::Command& c) {
  std::string note;
  INFO(c.DebugString());
  REQUIRE(apply_command(m, c, note));
}

/// Every previous holder reports its handover done, as their agents would.
void settle(v1::Membership& m) {
  for (int round = 0; round < 10 && m.handover() != 0; ++round) {
    auto handover = m.handover();
    std::vector<std::string> pending;
    for (auto id : m.previous_holders())
      if (std::find(m.handed_over().begin(), m.handed_over().end(), id) == m.handed_over().end())
        pending.push_back(troupe::cluster::find_member(m, id)->name());
    for (const auto& name : pending) {
      v1::Command done;
      done.mutable_handover_done()->set_name(name);
      done.mutable_handover_done()->set_handover(handover);
      apply(m, done);
    }
  }
  REQUIRE(m.handover() == 0);
}

/// Three members up, every handover done.
v1::Membership three_up() {
  v1::Membership m;
  v1::Command create;
  create.mutable_create()->set_cluster_name("troupe");
  apply(m, create);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    apply(m, join("n" + std::to_string(id), id));
    apply(m, ref("n" + std::to_string(id), 1, true));
    settle(m);
  }
  return m;
}

std::string key_owned_by(const placement& p, const std::string& service, std::uint64_t id) {
  for (int i = 0; i < 1000; ++i) {
    auto key = "k" + std::to_string(i);
    if (p.owner(service, key) == id)
      return key;
  }
  FAIL("no key of " << service << " owned by " << id);
  return {};
}

} // namespace

TEST_CASE("cluster membership: a down member keeps its durable keys while its other keys move") {
  auto m = three_up();
  placement before{m};
  auto durable_key = key_owned_by(before, "counter", 3);
  auto plain_key = key_owned_by(before, "probe", 3);

  apply(m, ref("n3", 1, false));
  placement down{m};
  CHECK(down.owner("counter", durable_key) == 3);  // answers 503 until n3 is back
  CHECK(down.owner("probe", plain_key) != 3);
  CHECK(down.owner("probe", plain_key) != 0);
  // No handover starts: nothing moves while n3 cannot push.
  CHECK(m.handover() == 0);
  CHECK(m.holders_size() == 3);

  // n3 comes back as its next incarnation and still holds them.
  apply(m, join("n3", 3));
  CHECK(placement{m}.owner("counter", durable_key) == 3);
  apply(m, ref("n3", 2, true));
  placement back{m};
  CHECK(back.owner("counter", durable_key) == 3);
  CHECK(back.owner("probe", plain_key) == 3);
  CHECK(m.handover() == 0);
}

TEST_CASE("cluster membership: a handover under way waits for a previous holder that is down") {
  auto m = three_up();
  // n4 comes up: a handover to four holders starts; n1..n3 must push.
  apply(m, join("n4", 4));
  apply(m, ref("n4", 1, true));
  REQUIRE(m.handover() != 0);
  apply(m, ref("n2", 1, false));
  for (const char* name : {"n1", "n3"}) {
    v1::Command done;
    done.mutable_handover_done()->set_name(name);
    done.mutable_handover_done()->set_handover(m.handover());
    apply(m, done);
  }
  // n2's keys are in its store alone: the handover is not complete without it.
  CHECK(m.handover() != 0);
}

namespace {

v1::Command remove(const std::string& name, std::uint64_t incarnation) {
  v1::Command c;
  c.mutable_remove()->set_name(name);
  c.mutable_remove()->set_incarnation(incarnation);
  return c;
}

} // namespace

TEST_CASE("cluster membership: an operator removes a down member, and its durable keys move "
          "and its store is refused") {
  auto m = three_up();
  auto durable_key = key_owned_by(placement{m}, "counter", 3);
  std::string note;
  // Only a member that is down: an up one is drained instead.
  CHECK_FALSE(apply_command(m, remove("n3", 1), note));
  apply(m, ref("n3", 1, false));
  CHECK_FALSE(apply_command(m, remove("n3", 7), note));  // another incarnation
  apply(m, remove("n3", 1));
  const auto* n3 = troupe::cluster::find_member(m, "n3");
  REQUIRE(n3 != nullptr);
  CHECK(n3->state() == v1::REMOVED);
  CHECK(n3->gave_up_state());
  settle(m);
  auto owner = placement{m}.owner("counter", durable_key);
  CHECK(owner != 3);
  CHECK(owner != 0);
  // The same store (raft id) is not admitted again; an empty one is.
  std::string reason;
  CHECK_FALSE(troupe::cluster::may_admit(m, "n3", 3, reason));
  CHECK(reason.find("empty --data") != std::string::npos);
  CHECK_FALSE(apply_command(m, join("n3", 3), note));
  apply(m, join("n3", 33));
  CHECK_FALSE(troupe::cluster::find_member(m, "n3")->gave_up_state());
}

TEST_CASE("cluster membership: a member that held nothing durable may come back after "
          "removal") {
  auto m = three_up();
  v1::Command plain;
  plain.mutable_join()->set_name("p4");
  plain.mutable_join()->set_raft_id(4);
  plain.mutable_join()->add_services()->set_name("greeter");
  apply(m, plain);
  apply(m, ref("p4", 1, true));
  settle(m);
  apply(m, ref("p4", 1, false));
  apply(m, remove("p4", 1));
  CHECK_FALSE(troupe::cluster::find_member(m, "p4")->gave_up_state());
  std::string reason;
  CHECK(troupe::cluster::may_admit(m, "p4", 4, reason));
}

TEST_CASE("cluster membership: records are bounded: removed ones pruned oldest first, "
          "joins refused at the bound") {
  v1::Membership m;
  v1::Command create;
  create.mutable_create()->set_cluster_name("troupe");
  apply(m, create);
  auto add_plain = [&](const std::string& name, std::uint64_t id) {
    v1::Command c;
    c.mutable_join()->set_name(name);
    c.mutable_join()->set_raft_id(id);
    c.set_at_unix_ms(static_cast<std::int64_t>(id));
    apply(m, c);
  };
  const auto removed = troupe::cluster::max_removed_records + 10;
  for (std::uint64_t id = 1; id <= removed; ++id) {
    auto name = "gone" + std::to_string(id);
    add_plain(name, id);
    auto down = ref(name, 1, false);
    down.set_at_unix_ms(static_cast<std::int64_t>(id));
    apply(m, down);
    auto r = remove(name, 1);
    r.set_at_unix_ms(static_cast<std::int64_t>(id));
    apply(m, r);
  }
  CHECK(static_cast<std::size_t>(m.members_size()) == troupe::cluster::max_removed_records);
  CHECK(troupe::cluster::find_member(m, "gone1") == nullptr);  // the oldest went first
  CHECK(troupe::cluster::find_member(m, std::string{"gone"} + std::to_string(removed))
        != nullptr);

  for (std::uint64_t id = 1000; m.members_size() < static_cast<int>(
                                  troupe::cluster::max_members
                                  + troupe::cluster::max_removed_records);
       ++id)
    add_plain("live" + std::to_string(id), id);
  std::string reason;
  CHECK_FALSE(troupe::cluster::may_admit(m, "one-too-many", 99999, reason));
  CHECK(reason.find(std::to_string(troupe::cluster::max_members)) != std::string::npos);
  // A member already known still comes back.
  CHECK(troupe::cluster::may_admit(m, "live1000", 1000, reason));
}

TEST_CASE("cluster placement: a cluster-wide instance count is spread evenly over the up "
          "members that host the service") {
  auto m = three_up();
  // Only n1 and n2 host "spread" (stateless); n3 does not.
  for (auto& member : *m.mutable_members())
    if (member.name() != "n3") {
      auto* s = member.add_services();
      s->set_name("spread");
      s->set_cluster_instances(5);
    }
  auto shares = troupe::cluster::instance_shares(m, "spread", 5);
  REQUIRE(shares.size() == 2);
  CHECK(shares.count(3) == 0);
  std::vector<std::uint32_t> counts{shares[1], shares[2]};
  std::sort(counts.begin(), counts.end());
  CHECK(counts == std::vector<std::uint32_t>{2, 3});
  // Every member computes the same from the same membership.
  CHECK(troupe::cluster::instance_shares(m, "spread", 5) == shares);

  SECTION("all three hosting: 2, 2, 1; fewer instances than members: some run none") {
    m.mutable_members()->Mutable(2)->add_services()->set_name("spread");
    shares = troupe::cluster::instance_shares(m, "spread", 5);
    REQUIRE(shares.size() == 3);
    std::vector<std::uint32_t> three{shares[1], shares[2], shares[3]};
    std::sort(three.begin(), three.end());
    CHECK(three == std::vector<std::uint32_t>{1, 2, 2});
    auto two = troupe::cluster::instance_shares(m, "spread", 2);
    CHECK(two[1] + two[2] + two[3] == 2);
  }
  SECTION("a member declared down runs none: the others take its share") {
    apply(m, ref("n1", 1, false));
    shares = troupe::cluster::instance_shares(m, "spread", 5);
    CHECK(shares == std::map<std::uint64_t, std::uint32_t>{{2, 5}});
  }
  SECTION("no up member hosts it: no spread at all") {
    CHECK(troupe::cluster::instance_shares(m, "other", 5).empty());
  }
}
