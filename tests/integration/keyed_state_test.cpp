// What happens to a keyed actor's state, seen from outside: the activation
// stays while calls keep coming (however close to the idle timeout they are
// spaced), its declared state outlives its passivation, and the passivation
// of each key is logged at debug level. Uses examples/counter.
#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

constexpr const char* counter = "demo.counter.v1.Counter";

bool passivated_all(const node_process& node) {
  return eventually([&] { return admin_service(node.port(), counter).active_actors() == 0; },
                    100, 100ms);
}

/// The lines of the node's log that report `key`'s passivation.
std::vector<std::string> passivation_lines(const node_process& node, const std::string& key) {
  std::vector<std::string> found;
  for (auto& line : lines_of(node.stderr_text()))
    if (contains(line, R"("message":"key passivated")")
        && contains(line, R"("troupe.key":")" + key + "\""))
      found.push_back(line);
  return found;
}

} // namespace

TEST_CASE("keyed state: a busy key keeps its state across many idle periods",
          "[keyed][passivation]") {
  // A call every 100 ms with a 300 ms idle timeout: a sweep always finds a
  // call since the previous one, so the key is never passivated and its
  // count goes on, 1 to 20. (The pacing is the scenario, not a wait.)
  node_process node{{"--module", counter_module(), "--idle-timeout", "300ms"}};
  raw_connection conn{node.port()};
  for (int i = 1; i <= 20; ++i) {
    if (i > 1)
      std::this_thread::sleep_for(100ms);
    INFO("call " << i);
    REQUIRE(counter_value(round_trip(conn, add_request("busy", 1))) == i);
  }
  REQUIRE(admin_service(node.port(), counter).active_actors() == 1);
}

TEST_CASE("keyed state: a key's passivation is logged at debug level",
          "[keyed][passivation]") {
  node_process node{{"--module", counter_module(), "--idle-timeout", "200ms",
                     "--log-level", "debug"}};
  REQUIRE(counter_add(node.port(), "sleepy", 7) == 7);
  REQUIRE(passivated_all(node));
  std::vector<std::string> lines;
  REQUIRE(eventually([&] { return !(lines = passivation_lines(node, "sleepy")).empty(); },
                     50, 100ms));
  INFO(lines.front());
  REQUIRE(lines.size() == 1);
  CHECK(contains(lines.front(), R"("log.level":"debug")"));
  CHECK(contains(lines.front(), R"("troupe.service":"demo.counter.v1.Counter")"));
  // Its declared state stayed in the store.
  CHECK(counter_get(node.port(), "sleepy") == 7);
}

TEST_CASE("keyed state: at info level the passivation is not logged",
          "[keyed][passivation]") {
  node_process node{{"--module", counter_module(), "--idle-timeout", "200ms"}};
  REQUIRE(counter_add(node.port(), "quiet", 1) == 1);
  REQUIRE(passivated_all(node));
  CHECK(passivation_lines(node, "quiet").empty());
}
