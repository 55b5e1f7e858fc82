// Graceful shutdown: on SIGTERM or SIGINT the node stops accepting, finishes
// the calls in flight (answering 503 those still running at
// --shutdown-timeout) and exits 0.
#include <signal.h>


#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

std::vector<std::string> modules(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--module", counter_module(), "--module",
                                test_module("faulty")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// Waits (bounded) until the admin API shows that Faulty has taken a call:
/// a Slow call just sent has been read by the gateway and is in progress.
void wait_until_in_flight(const node_process& node) {
  REQUIRE(eventually(
    [&] { return admin_service(node.port(), "test.faulty.v1.Faulty").calls() >= 1; }, 100,
    10ms));
}

/// What a new connection gets after SIGTERM: refused, closed without an
/// answer, or an answer. Returns the status, or 0 when there was none.
int new_connection_status(std::uint16_t port, const std::string& target) {
  try {
    raw_connection conn{port};
    conn.send(make_request("GET", target));
    auto r = conn.read_response(std::chrono::seconds{10});
    return r ? r->status : 0;
  } catch (const std::exception&) {
    return 0;  // refused, or reset while sending
  }
}

} // namespace

TEST_CASE("shutdown: an idle node exits 0 on SIGTERM", "[shutdown]") {
  node_process node{modules()};
  REQUIRE(counter_add(node.port(), "k", 1) == 1);
  REQUIRE(node.terminate() == 0);
}

TEST_CASE("shutdown: an idle node exits 0 on SIGINT", "[shutdown]") {
  node_process node{modules()};
  REQUIRE(counter_add(node.port(), "k", 1) == 1);
  REQUIRE(::kill(node.pid(), SIGINT) == 0);
  // terminate() finds it exiting (or gone) and reports how it ended.
  REQUIRE(node.terminate() == 0);
}

TEST_CASE("shutdown: idle connections do not hold it up", "[shutdown]") {
  // A drain deadline longer than terminate()'s limit: a node that waited for
  // these connections would be killed and terminate() would answer -1.
  node_process node{modules({"--shutdown-timeout", "60s"})};
  raw_connection silent{node.port()};
  raw_connection kept{node.port()};
  REQUIRE(counter_value(round_trip(kept, add_request("k", 1))) == 1);
  REQUIRE(node.terminate(std::chrono::seconds{20}) == 0);
  // The kept-alive connection is closed, not left hanging.
  REQUIRE(kept.closed_by_peer(std::chrono::seconds{10}));
}

TEST_CASE("shutdown: a client stuck in the middle of a request cannot keep the node "
          "past the shutdown deadline",
          "[shutdown]") {
  node_process node{modules({"--shutdown-timeout", "1s"})};
  raw_connection partial{node.port()};
  partial.send("POST /v1/counters/k:add HTTP/1.1\r\nHost: x\r\nContent-Le");
  REQUIRE(counter_add(node.port(), "k", 1) == 1);  // the request has been read
  REQUIRE(node.terminate(std::chrono::seconds{20}) == 0);
}

TEST_CASE("shutdown: SIGTERM lets a call in flight complete, then exits 0",
          "[shutdown]") {
  node_process node{modules()};
  raw_connection busy{node.port()};
  busy.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 1500})"));
  wait_until_in_flight(node);

  REQUIRE(::kill(node.pid(), SIGTERM) == 0);

  auto r = busy.read_response(std::chrono::seconds{15});
  REQUIRE(r.has_value());
  require_json_ok(*r);
  REQUIRE(int_field(r->body, "millis") == 1500);
  REQUIRE(node.terminate() == 0);
}

TEST_CASE("shutdown: after SIGTERM new connections are refused or answered 503",
          "[shutdown]") {
  node_process node{modules()};
  raw_connection busy{node.port()};
  busy.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 1500})"));
  wait_until_in_flight(node);

  REQUIRE(::kill(node.pid(), SIGTERM) == 0);
  // Give the signal time to be taken; the slow call keeps the node draining.
  std::this_thread::sleep_for(100ms);

  SECTION("a call to a service") {
    auto status = new_connection_status(node.port(), "/v1/counters/k");
    INFO("status (0: refused or closed): " << status);
    REQUIRE((status == 0 || status == 503));
  }
  SECTION("a readiness check") {
    auto status = new_connection_status(node.port(), "/readyz");
    INFO("status (0: refused or closed): " << status);
    REQUIRE((status == 0 || status == 503));
  }
  auto r = busy.read_response(std::chrono::seconds{15});
  REQUIRE(r.has_value());
  require_json_ok(*r);
  REQUIRE(node.terminate() == 0);
}

TEST_CASE("shutdown: several calls in flight on several connections all complete",
          "[shutdown]") {
  node_process node{modules()};
  // Two Slow calls (Faulty has two instances) and a counter call behind nothing.
  raw_connection a{node.port()};
  raw_connection b{node.port()};
  a.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 1200})"));
  b.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 1300})"));
  REQUIRE(eventually(
    [&] { return admin_service(node.port(), "test.faulty.v1.Faulty").calls() >= 2; }, 100,
    10ms));

  REQUIRE(::kill(node.pid(), SIGTERM) == 0);

  auto ra = a.read_response(std::chrono::seconds{15});
  auto rb = b.read_response(std::chrono::seconds{15});
  REQUIRE(ra.has_value());
  REQUIRE(rb.has_value());
  require_json_ok(*ra);
  require_json_ok(*rb);
  REQUIRE(int_field(ra->body, "millis") == 1200);
  REQUIRE(int_field(rb->body, "millis") == 1300);
  REQUIRE(node.terminate() == 0);
}

TEST_CASE("shutdown: a call still running at --shutdown-timeout is answered 503, then "
          "the node exits 0",
          "[shutdown]") {
  node_process node{modules({"--shutdown-timeout", "300ms"})};
  raw_connection busy{node.port()};
  busy.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 5000})"));
  wait_until_in_flight(node);

  REQUIRE(::kill(node.pid(), SIGTERM) == 0);
  // Well before the handler's own answer, 5 s away.
  auto r = busy.read_response(std::chrono::seconds{4});
  REQUIRE(r.has_value());
  require_problem(*r, 503);
  CHECK_FALSE(r->header("retry-after").empty());
  CHECK_FALSE(r->keep_alive);
  // Not killed by terminate()'s time limit, which would give -1.
  REQUIRE(node.terminate(std::chrono::seconds{20}) == 0);
}

TEST_CASE("shutdown: a request pipelined behind a call in flight is answered 503",
          "[shutdown]") {
  node_process node{modules()};
  raw_connection conn{node.port()};
  // One write: the second request waits in the server's buffer while the
  // first runs.
  conn.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 1500})")
            + add_request("piped", 1));
  wait_until_in_flight(node);

  REQUIRE(::kill(node.pid(), SIGTERM) == 0);

  auto first = conn.read_response(std::chrono::seconds{15});
  REQUIRE(first.has_value());
  require_json_ok(*first);
  REQUIRE(int_field(first->body, "millis") == 1500);
  // The connection stays open for the answer still owed ...
  CHECK(first->keep_alive);
  auto second = conn.read_response(std::chrono::seconds{15});
  REQUIRE(second.has_value());
  require_problem(*second, 503);
  CHECK_FALSE(second->header("retry-after").empty());
  // ... and closes after it.
  CHECK_FALSE(second->keep_alive);
  CHECK(conn.closed_by_peer(std::chrono::seconds{10}));
  REQUIRE(node.terminate() == 0);
}
