// Journaled keyed state seen from outside, with a real node and
// tests/modules/tally: a key's events are appended before the reply, survive
// a restart and a passivation, the state is rebuilt from the latest snapshot
// plus the events after it (the reply's `applied` counts the apply() calls of
// the activation), a handler that fails appends nothing, and the admin API
// shows a key's journal and snapshot as JSON.
#include "integration/itest_helpers.hpp"
#include "troupe/admin_journal.pb.h"

using namespace troupe::itest;

namespace {

constexpr const char* tallies = "test.tally.v1.Tallies";

struct tally {
  std::int64_t total = 0;
  std::int64_t events = 0;
  std::int64_t applied = 0;
};

tally read_tally(const http_response& r) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return {int_field(r.body, "total"), int_field(r.body, "events"), int_field(r.body, "applied")};
}

tally add(std::uint16_t port, const std::string& key, int amount, int times,
          const std::string& route = "tallies") {
  return read_tally(http_call(port, "POST", "/v1/" + route + "/" + key + ":add",
                              R"({"amount": )" + std::to_string(amount) + R"(, "times": )"
                                + std::to_string(times) + "}"));
}

tally get(std::uint16_t port, const std::string& key, const std::string& route = "tallies") {
  return read_tally(http_call(port, "GET", "/v1/" + route + "/" + key));
}

troupe::admin::v1::JournalPage journal(std::uint16_t port, const std::string& service,
                                       const std::string& key, const std::string& query = {}) {
  return admin_get<troupe::admin::v1::JournalPage>(
    port, "/admin/v1/services/" + service + "/journal/" + key + query);
}

double number(const google::protobuf::Struct& s, const std::string& name) {
  auto i = s.fields().find(name);
  INFO("member " << name);
  REQUIRE(i != s.fields().end());
  // int64 members are printed as strings by the JSON mapping.
  if (i->second.has_string_value())
    return std::stod(i->second.string_value());
  return i->second.number_value();
}

} // namespace

TEST_CASE("journal: events outlive a restart, and the state is rebuilt from the latest "
          "snapshot plus the events after it",
          "[journal][state]") {
  temp_dir data;
  {
    node_process node{{"--module", test_module("tally")}, {.data_dir = data.path()}};
    auto t = add(node.port(), "a", 2, 3);  // events 1-3
    CHECK(t.total == 6);
    t = add(node.port(), "a", 10, 3);      // events 4-6: they pass 5, a snapshot at 6
    CHECK(t.total == 36);
    t = add(node.port(), "a", 1, 1);       // event 7
    CHECK(t.total == 37);
    CHECK(t.events == 7);
    CHECK(t.applied == 7);  // this activation emitted them all
    add(node.port(), "b", 1, 2);
    REQUIRE(node.terminate() == 0);
  }
  node_process again{{"--module", test_module("tally")}, {.data_dir = data.path()}};
  auto page = journal(again.port(), tallies, "a");
  REQUIRE(page.has_snapshot());
  CHECK(page.snapshot().seq() == 6);
  CHECK(page.events_size() == 7);  // every event kept: the service does not truncate
  auto a = get(again.port(), "a");
  CHECK(a.total == 37);
  CHECK(a.events == 7);
  // Only event 7 was replayed: the rest came from the snapshot.
  CHECK(a.applied == 1);
  auto b = get(again.port(), "b");
  CHECK(b.total == 2);
  CHECK(b.applied == 2);  // no snapshot yet: every event replayed
  // And the journal goes on where it ended.
  auto more = add(again.port(), "a", 1, 1);
  CHECK(more.total == 38);
  CHECK(more.events == 8);
  page = journal(again.port(), tallies, "a", "?from=8");
  REQUIRE(page.events_size() == 1);
  CHECK(page.events(0).seq() == 8);
}

TEST_CASE("journal: a passivated key is rebuilt from its snapshot and journal on its next call",
          "[journal][state]") {
  node_process node{{"--module", test_module("tally"), "--idle-timeout", "200ms"}};
  add(node.port(), "k", 3, 5);          // a snapshot at 5
  auto t = add(node.port(), "k", 3, 1);  // event 6, after it
  REQUIRE(t.total == 18);
  REQUIRE(t.applied == 6);
  // Passivated once idle: the next call finds a new activation, which
  // replayed the one event after the snapshot. Each try waits longer than
  // the idle timeout, so that the calls do not keep the key active.
  tally seen;
  CHECK(eventually([&] {
    seen = get(node.port(), "k");
    return seen.applied != 6;
  }, 40, 500ms));
  CHECK(seen.total == 18);
  CHECK(seen.events == 6);
  CHECK(seen.applied == 1);
}

TEST_CASE("journal: a handler that fails appends nothing, in memory or on disk",
          "[journal][state]") {
  temp_dir data;
  {
    node_process node{{"--module", test_module("tally")}, {.data_dir = data.path()}};
    add(node.port(), "f", 1, 2);  // events 1-2
    auto refused = http_call(node.port(), "POST", "/v1/tallies/f:refuse",
                             R"({"amount": 100, "times": 3})");
    require_problem(refused, 400);
    // The same activation: its state is as before the refused events.
    auto t = get(node.port(), "f");
    CHECK(t.total == 2);
    CHECK(t.events == 2);
    // The next append holds only its own event.
    t = add(node.port(), "f", 5, 1);  // event 3
    CHECK(t.total == 7);
    auto page = journal(node.port(), tallies, "f");
    REQUIRE(page.events_size() == 3);
    CHECK(number(page.events(2).event(), "amount") == 5);

    auto thrown = http_call(node.port(), "POST", "/v1/tallies/f:throw",
                            R"({"amount": 1000, "times": 3})");
    require_problem(thrown, 500);
    t = get(node.port(), "f");
    CHECK(t.total == 7);
    CHECK(t.events == 3);
    CHECK(journal(node.port(), tallies, "f").events_size() == 3);
    REQUIRE(node.terminate() == 0);
  }
  node_process again{{"--module", test_module("tally")}, {.data_dir = data.path()}};
  auto t = get(again.port(), "f");
  CHECK(t.total == 7);
  CHECK(t.events == 3);
  // The journal goes on at 4: nothing of the failed calls took a number.
  add(again.port(), "f", 2, 1);
  auto page = journal(again.port(), tallies, "f", "?from=4");
  REQUIRE(page.events_size() == 1);
  CHECK(page.events(0).seq() == 4);
  CHECK(number(page.events(0).event(), "amount") == 2);
}

TEST_CASE("journal: the admin API lists a key's events a bounded page at a time, with its "
          "latest snapshot",
          "[journal][admin]") {
  node_process node{{"--module", test_module("tally")}};
  for (int i = 1; i <= 7; ++i)
    add(node.port(), "p", i, 1);  // event i counts i

  auto first = journal(node.port(), tallies, "p", "?from=1&limit=3");
  CHECK(first.service() == tallies);
  CHECK(first.key() == "p");
  CHECK(first.state_type() == "test.tally.v1.TallyState");
  CHECK(first.event_type() == "test.tally.v1.Counted");
  CHECK(first.snapshot_every() == 5);
  REQUIRE(first.events_size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(first.events(i).seq() == static_cast<std::uint64_t>(i + 1));
    CHECK(number(first.events(i).event(), "amount") == i + 1);
  }
  CHECK(first.next_from() == 4);
  REQUIRE(first.has_snapshot());
  CHECK(first.snapshot().seq() == 5);
  CHECK(number(first.snapshot().state(), "total") == 15);  // 1 + ... + 5
  CHECK(number(first.snapshot().state(), "events") == 5);

  // Following next_from reaches the end, in order, without repeats.
  std::vector<std::uint64_t> seqs;
  std::uint64_t from = 1;
  for (int page = 0; page < 10 && from != 0; ++page) {
    auto p = journal(node.port(), tallies, "p", "?limit=2&from=" + std::to_string(from));
    for (const auto& e : p.events())
      seqs.push_back(e.seq());
    from = p.next_from();
  }
  CHECK(from == 0);
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7});

  // A key without events: no events, no snapshot.
  auto empty = journal(node.port(), tallies, "nobody");
  CHECK(empty.events_size() == 0);
  CHECK_FALSE(empty.has_snapshot());
  CHECK(empty.next_from() == 0);

  // The raw JSON names the members by the proto3 JSON mapping.
  auto raw = http_call(node.port(), "GET",
                       std::string{"/admin/v1/services/"} + tallies + "/journal/p?limit=1");
  REQUIRE(raw.status == 200);
  CHECK(contains(raw.body, R"("nextFrom":"2")"));
  CHECK(contains(raw.body, R"("event":{"amount":"1"})"));

  // Bad requests.
  auto base = std::string{"/admin/v1/services/"} + tallies + "/journal/p";
  require_problem(http_call(node.port(), "GET", base + "?limit=1001"), 400);
  require_problem(http_call(node.port(), "GET", base + "?limit=0"), 400);
  require_problem(http_call(node.port(), "GET", base + "?from=x"), 400);
  require_problem(http_call(node.port(), "GET", base + "?colour=red"), 400);
  require_problem(http_call(node.port(), "GET", "/admin/v1/services/no.Such/journal/p"), 404);
}

TEST_CASE("journal: a truncating service drops the events before each snapshot and rebuilds "
          "from the snapshot",
          "[journal][state]") {
  temp_dir data;
  constexpr const char* truncated = "test.tally.v1.TruncatedTallies";
  {
    node_process node{{"--module", test_module("tally")}, {.data_dir = data.path()}};
    add(node.port(), "t", 2, 4, "truncated-tallies");      // events 1-4: a snapshot at 4
    auto t = add(node.port(), "t", 2, 1, "truncated-tallies");  // event 5
    CHECK(t.total == 10);
    auto page = journal(node.port(), truncated, "t");
    CHECK(page.truncates());
    REQUIRE(page.has_snapshot());
    CHECK(page.snapshot().seq() == 4);
    CHECK(number(page.snapshot().state(), "total") == 8);
    // Events 1-3 are gone; the journal keeps the snapshot's event on.
    REQUIRE(page.events_size() == 2);
    CHECK(page.events(0).seq() == 4);
    CHECK(page.events(1).seq() == 5);
    REQUIRE(node.terminate() == 0);
  }
  node_process again{{"--module", test_module("tally")}, {.data_dir = data.path()}};
  auto t = get(again.port(), "t", "truncated-tallies");
  CHECK(t.total == 10);
  CHECK(t.events == 5);
  CHECK(t.applied == 1);
}
