// The gateway's routes, end to end: a real `troupe node` with the example
// modules, called over real sockets. Every route of the counter and the
// greeter, the health checks, the admin API, keep-alive, pipelining,
// concurrent calls on one key and keyed activations.
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;
namespace admin = troupe::admin::v1;

namespace {

constexpr const char* node_name = "itest-routes";

std::vector<std::string> example_modules() {
  return {"--name", node_name, "--module", counter_module(), "--module", greeter_module()};
}

const admin::ServiceInfo* find_service(const admin::ServiceList& list,
                                       const std::string& name) {
  for (auto& s : list.services())
    if (s.name() == name)
      return &s;
  return nullptr;
}

const admin::MethodInfo* find_method(const admin::ServiceInfo& service,
                                     const std::string& name) {
  for (auto& m : service.methods())
    if (m.name() == name)
      return &m;
  return nullptr;
}

bool has_route(const admin::MethodInfo& method, const std::string& verb,
               const std::string& path) {
  for (auto& r : method.routes())
    if (r.verb() == verb && r.path() == path)
      return true;
  return false;
}

} // namespace

// -- the counter (keyed) --------------------------------------------------------

TEST_CASE("counter: a key never used reads {\"value\": 0}", "[routes][counter]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "GET", "/v1/counters/never-used");
  require_json_ok(r);
  // The reply prints the zero value rather than an empty object.
  REQUIRE(contains(r.body, "\"value\""));
  REQUIRE(int_field(r.body, "value") == 0);
}

TEST_CASE("counter: add answers the new total and get reads it", "[routes][counter]") {
  node_process node{example_modules()};
  REQUIRE(counter_add(node.port(), "apples", 5) == 5);
  REQUIRE(counter_add(node.port(), "apples", 7) == 12);
  REQUIRE(counter_add(node.port(), "apples", -2) == 10);
  REQUIRE(counter_get(node.port(), "apples") == 10);
}

TEST_CASE("counter: keys count independently", "[routes][counter]") {
  node_process node{example_modules()};
  REQUIRE(counter_add(node.port(), "left", 3) == 3);
  REQUIRE(counter_add(node.port(), "right", 40) == 40);
  REQUIRE(counter_get(node.port(), "left") == 3);
  REQUIRE(counter_get(node.port(), "right") == 40);
}

TEST_CASE("counter: reset sets the value back to 0", "[routes][counter]") {
  node_process node{example_modules()};
  REQUIRE(counter_add(node.port(), "pears", 9) == 9);
  auto r = http_call(node.port(), "POST", "/v1/counters/pears:reset");
  REQUIRE(counter_value(r) == 0);
  REQUIRE(counter_get(node.port(), "pears") == 0);
  REQUIRE(counter_add(node.port(), "pears", 1) == 1);
}

TEST_CASE("counter: an add overflowing int32 answers 400 and changes nothing",
          "[routes][counter]") {
  node_process node{example_modules()};
  REQUIRE(counter_add(node.port(), "big", 2147483647) == 2147483647);
  auto r = http_call(node.port(), "POST", "/v1/counters/big:add", R"({"delta": 1})");
  require_problem(r, 400);
  REQUIRE(counter_get(node.port(), "big") == 2147483647);

  REQUIRE(counter_add(node.port(), "small", -2147483647) == -2147483647);
  r = http_call(node.port(), "POST", "/v1/counters/small:add", R"({"delta": -2})");
  require_problem(r, 400);
  REQUIRE(counter_get(node.port(), "small") == -2147483647);
}

TEST_CASE("counter: a percent-encoded key is decoded and used as one key",
          "[routes][counter]") {
  node_process node{example_modules()};
  REQUIRE(counter_add(node.port(), "two%20words", 4) == 4);
  REQUIRE(counter_get(node.port(), "two%20words") == 4);
  REQUIRE(counter_get(node.port(), "two") == 0);
}

TEST_CASE("counter: a key in the body other than the path's is a 400 and counts nowhere",
          "[routes][counter]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "POST", "/v1/counters/in-path:add",
                     R"({"key": "in-body", "delta": 6})");
  auto p = require_problem(r, 400);
  REQUIRE(contains(p.detail, "'key'"));
  REQUIRE(counter_get(node.port(), "in-path") == 0);
  REQUIRE(counter_get(node.port(), "in-body") == 0);
  // The path's key repeated in the body is the same call.
  r = http_call(node.port(), "POST", "/v1/counters/in-path:add",
                R"({"key": "in-path", "delta": 6})");
  REQUIRE(counter_value(r) == 6);
}

// -- the greeter (stateless) ----------------------------------------------------

TEST_CASE("greeter: a greeting names the caller and the instance that answered",
          "[routes][greeter]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "GET", "/v1/greetings/Ada");
  require_json_ok(r);
  REQUIRE(string_field(r.body, "message") == "Hello, Ada!");
  auto instance = string_field(r.body, "instance");
  INFO("instance: " << instance);
  auto prefix = std::string{node_name} + "/demo.greeter.v1.Greeter#";
  REQUIRE(instance.rfind(prefix, 0) == 0);
  REQUIRE(instance.size() > prefix.size());
}

TEST_CASE("greeter: a percent-encoded name is decoded", "[routes][greeter]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "GET", "/v1/greetings/Ada%20Lovelace");
  require_json_ok(r);
  REQUIRE(string_field(r.body, "message") == "Hello, Ada Lovelace!");
}

TEST_CASE("greeter: calls are spread over its instances", "[routes][greeter]") {
  node_process node{example_modules()};
  std::set<std::string> instances;
  raw_connection conn{node.port()};
  for (int i = 0; i < 40; ++i) {
    auto r = round_trip(conn, make_request("GET", "/v1/greetings/n" + std::to_string(i)));
    require_json_ok(r);
    instances.insert(string_field(r.body, "instance"));
  }
  INFO("distinct instances over 40 calls: " << instances.size());
  REQUIRE(instances.size() >= 3);
  REQUIRE(instances.size() <= 4);  // the greeter runs 4 instances
}

TEST_CASE("greeter: the counted greeting calls the counter service from its handler",
          "[routes][greeter]") {
  node_process node{example_modules()};
  for (int n = 1; n <= 3; ++n) {
    auto r = http_call(node.port(), "POST", "/v1/greetings/Bob:counted");
    require_json_ok(r);
    REQUIRE(string_field(r.body, "message")
            == "Hello, Bob! (greeting #" + std::to_string(n) + ")");
  }
  // The greeter counted in the counter service, under the name as key.
  REQUIRE(counter_get(node.port(), "Bob") == 3);
}

TEST_CASE("greeter: concurrent counted greetings each get their own number",
          "[routes][greeter][concurrency]") {
  node_process node{example_modules()};
  constexpr int threads = 4;
  constexpr int calls_per_thread = 10;
  std::set<std::string> seen;
  for (auto& body : concurrent_calls(node.port(), threads, calls_per_thread,
                                     make_request("POST", "/v1/greetings/Zed:counted")))
    seen.insert(string_field(body, "message"));
  // Every number from 1 to 40 exactly once.
  REQUIRE(seen.size() == threads * calls_per_thread);
  for (int n = 1; n <= threads * calls_per_thread; ++n)
    REQUIRE(seen.count("Hello, Zed! (greeting #" + std::to_string(n) + ")") == 1);
  REQUIRE(counter_get(node.port(), "Zed") == threads * calls_per_thread);
}

TEST_CASE("greeter: the counted greeting answers 503 when the counter is not loaded",
          "[routes][greeter]") {
  node_process node{{"--module", greeter_module()}};
  auto r = http_call(node.port(), "POST", "/v1/greetings/Bob:counted");
  require_problem(r, 503);
  // The plain greeting does not need the counter.
  require_json_ok(http_call(node.port(), "GET", "/v1/greetings/Bob"));
}

// -- health checks --------------------------------------------------------------

TEST_CASE("health: /healthz and /readyz answer 200", "[routes][health]") {
  node_process node{example_modules()};
  SECTION("healthz") {
    REQUIRE(http_call(node.port(), "GET", "/healthz").status == 200);
  }
  SECTION("readyz") {
    REQUIRE(http_call(node.port(), "GET", "/readyz").status == 200);
  }
}

// -- the admin API --------------------------------------------------------------

TEST_CASE("admin: /admin/v1/node describes this node", "[routes][admin]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "GET", "/admin/v1/node");
  require_json_ok(r);
  INFO(r.body);
  // proto3 JSON mapping: lowerCamelCase names.
  REQUIRE(contains(r.body, "\"httpAddress\""));
  REQUIRE_FALSE(contains(r.body, "\"http_address\""));
  auto info = admin_get<admin::NodeInfo>(node.port(), "/admin/v1/node");
  REQUIRE(info.name() == node_name);
  REQUIRE_FALSE(info.version().empty());
  REQUIRE(info.http_address() == "127.0.0.1:" + std::to_string(node.port()));
  REQUIRE(info.uptime_seconds() >= 0);
  REQUIRE(info.started_at_unix() > 0);
}

TEST_CASE("admin: /admin/v1/nodes lists this node", "[routes][admin]") {
  node_process node{example_modules()};
  auto list = admin_get<admin::NodeList>(node.port(), "/admin/v1/nodes");
  REQUIRE(list.nodes_size() >= 1);
  bool found = false;
  for (auto& n : list.nodes())
    found = found || n.name() == node_name;
  REQUIRE(found);
}

TEST_CASE("admin: /admin/v1/modules lists both modules with their services",
          "[routes][admin]") {
  node_process node{example_modules()};
  auto list = admin_get<admin::ModuleList>(node.port(), "/admin/v1/modules");
  REQUIRE(list.modules_size() == 2);
  std::map<std::string, admin::ModuleInfo> by_name;
  for (auto& m : list.modules())
    by_name[m.name()] = m;
  REQUIRE(by_name.count("counter") == 1);
  REQUIRE(by_name.count("greeter") == 1);
  auto& counter = by_name["counter"];
  REQUIRE(counter.services_size() == 1);
  REQUIRE(counter.services(0) == "demo.counter.v1.Counter");
  REQUIRE(contains(counter.path(), "libcounter.so"));
  auto& greeter = by_name["greeter"];
  REQUIRE(greeter.services_size() == 1);
  REQUIRE(greeter.services(0) == "demo.greeter.v1.Greeter");
  REQUIRE(contains(greeter.path(), "libgreeter.so"));
}

TEST_CASE("admin: /admin/v1/services describes kind, status, instances and routes",
          "[routes][admin]") {
  node_process node{example_modules()};
  auto raw = http_call(node.port(), "GET", "/admin/v1/services");
  require_json_ok(raw);
  auto list = admin_get<admin::ServiceList>(node.port(), "/admin/v1/services");
  REQUIRE(list.services_size() == 2);

  auto* counter = find_service(list, "demo.counter.v1.Counter");
  REQUIRE(counter != nullptr);
  CHECK(counter->kind() == "keyed");
  CHECK(counter->status() == "running");
  CHECK(counter->module() == "counter");
  REQUIRE(counter->methods_size() == 3);
  auto* add = find_method(*counter, "Add");
  REQUIRE(add != nullptr);
  CHECK(has_route(*add, "POST", "/v1/counters/{key}:add"));
  auto* get = find_method(*counter, "Get");
  REQUIRE(get != nullptr);
  CHECK(has_route(*get, "GET", "/v1/counters/{key}"));
  CHECK(find_method(*counter, "Reset") != nullptr);

  auto* greeter = find_service(list, "demo.greeter.v1.Greeter");
  REQUIRE(greeter != nullptr);
  CHECK(greeter->kind() == "stateless");
  CHECK(greeter->status() == "running");
  CHECK(greeter->instances() == 4);
  auto* greet = find_method(*greeter, "Greet");
  REQUIRE(greet != nullptr);
  CHECK(has_route(*greet, "GET", "/v1/greetings/{name}"));
  auto* counted = find_method(*greeter, "GreetCounted");
  REQUIRE(counted != nullptr);
  CHECK(has_route(*counted, "POST", "/v1/greetings/{name}:counted"));
}

TEST_CASE("admin: /admin/v1/services/{name} describes one service", "[routes][admin]") {
  node_process node{example_modules()};
  auto counter = admin_service(node.port(), "demo.counter.v1.Counter");
  REQUIRE(counter.name() == "demo.counter.v1.Counter");
  REQUIRE(counter.kind() == "keyed");
  REQUIRE(counter.status() == "running");
  REQUIRE(counter.methods_size() == 3);
}

TEST_CASE("admin: an unknown service answers a 404 problem", "[routes][admin]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "GET", "/admin/v1/services/no.such.v1.Service");
  require_problem(r, 404);
}

TEST_CASE("admin: a call through the admin API reaches the service", "[routes][admin]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "POST",
                     "/admin/v1/services/demo.counter.v1.Counter/methods/Add:call?key=viaadmin",
                     R"({"delta": 4})");
  REQUIRE(counter_value(r) == 4);
  // The same actor answers the gateway's route afterwards.
  REQUIRE(counter_get(node.port(), "viaadmin") == 4);

  auto g = http_call(node.port(), "POST",
                     "/admin/v1/services/demo.greeter.v1.Greeter/methods/Greet:call",
                     R"({"name": "Eve"})");
  require_json_ok(g);
  REQUIRE(string_field(g.body, "message") == "Hello, Eve!");
}

// -- keep-alive and pipelining --------------------------------------------------

TEST_CASE("keep-alive: several requests are answered on one connection",
          "[routes][keepalive]") {
  node_process node{example_modules()};
  raw_connection conn{node.port()};
  for (int i = 1; i <= 5; ++i) {
    auto r = round_trip(conn, add_request("kept", 1));
    REQUIRE(counter_value(r) == i);
    REQUIRE(r.keep_alive);
  }
  auto r = round_trip(conn, make_request("GET", "/v1/greetings/Kay"));
  require_json_ok(r);
  REQUIRE(string_field(r.body, "message") == "Hello, Kay!");
  // An error response does not end the connection either.
  require_problem(round_trip(conn, make_request("GET", "/v1/no/such/route")), 404);
  REQUIRE(counter_value(round_trip(conn, get_request("kept"))) == 5);
}

TEST_CASE("responses carry Date (IMF-fixdate) and Server", "[routes]") {
  node_process node{example_modules()};
  auto r = http_call(node.port(), "GET", "/v1/counters/dated");
  require_json_ok(r);
  auto date = r.header("date");
  INFO("Date: " << date);
  // "Thu, 26 Nov 2026 07:30:00 GMT"
  std::tm parsed{};
  const char* end = ::strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parsed);
  REQUIRE(end != nullptr);
  CHECK(*end == '\0');
  CHECK(date.size() == 29);
  auto sent = ::timegm(&parsed);
  auto now = std::time(nullptr);
  CHECK(sent <= now);
  CHECK(sent >= now - 60);
  CHECK(r.header("server") == "troupe");
  // Errors too.
  auto e = http_call(node.port(), "GET", "/v1/no/such/route");
  CHECK(e.status == 404);
  CHECK_FALSE(e.header("date").empty());
}

TEST_CASE("keep-alive: Connection: close ends the connection after the response",
          "[routes][keepalive]") {
  node_process node{example_modules()};
  raw_connection conn{node.port()};
  auto r = round_trip(conn, make_request("GET", "/v1/counters/k", "", {"Connection: close"}));
  REQUIRE(counter_value(r) == 0);
  REQUIRE_FALSE(r.keep_alive);
  REQUIRE(conn.closed_by_peer(std::chrono::seconds{10}));
}

TEST_CASE("HEAD answers a GET's header without its body", "[routes][keepalive]") {
  node_process node{example_modules()};
  raw_connection conn{node.port()};
  // Pipelined: a body after HEAD's header would be read as the start of the
  // GET's response.
  conn.send(make_request("HEAD", "/v1/counters/headed") + get_request("headed"));
  auto head = conn.read_response(std::chrono::seconds{20}, true);
  REQUIRE(head.has_value());
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(head->header("content-type") == "application/json");
  auto get = conn.read_response();
  REQUIRE(get.has_value());
  REQUIRE(counter_value(*get) == 0);
  CHECK(head->header("content-length") == std::to_string(get->body.size()));
  CHECK(get->header("content-length") == std::to_string(get->body.size()));
}

TEST_CASE("an HTTP/1.0 request gets an HTTP/1.0 response and the connection closes",
          "[routes][keepalive]") {
  node_process node{example_modules()};
  raw_connection conn{node.port()};
  conn.send("GET /v1/counters/old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  auto r = conn.read_response();
  REQUIRE(r.has_value());
  CHECK(r->version == 10);
  REQUIRE(counter_value(*r) == 0);
  CHECK_FALSE(r->keep_alive);
  CHECK(conn.closed_by_peer(std::chrono::seconds{10}));
}

TEST_CASE("pipelining: three requests written at once are answered in order",
          "[routes][pipelining]") {
  node_process node{example_modules()};
  raw_connection conn{node.port()};
  conn.send(add_request("pipe-a", 1) + add_request("pipe-b", 20)
            + make_request("GET", "/v1/greetings/Pip"));
  auto first = conn.read_response();
  auto second = conn.read_response();
  auto third = conn.read_response();
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  REQUIRE(third.has_value());
  REQUIRE(counter_value(*first) == 1);
  REQUIRE(counter_value(*second) == 20);
  require_json_ok(*third);
  REQUIRE(string_field(third->body, "message") == "Hello, Pip!");
}

TEST_CASE("pipelining: an error in the middle of a pipeline keeps the order",
          "[routes][pipelining]") {
  node_process node{example_modules()};
  raw_connection conn{node.port()};
  conn.send(add_request("mid", 2) + make_request("GET", "/v1/no/such/route")
            + make_request("POST", "/v1/counters/mid:add", "{broken")
            + add_request("mid", 5));
  auto first = conn.read_response();
  auto second = conn.read_response();
  auto third = conn.read_response();
  auto fourth = conn.read_response();
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  REQUIRE(third.has_value());
  REQUIRE(fourth.has_value());
  REQUIRE(counter_value(*first) == 2);
  require_problem(*second, 404);
  require_problem(*third, 400);
  REQUIRE(counter_value(*fourth) == 7);
}

TEST_CASE("pipelining: fifty requests written at once are answered in order",
          "[routes][pipelining]") {
  node_process node{example_modules()};
  raw_connection conn{node.port()};
  std::string batch;
  for (int i = 0; i < 50; ++i)
    batch += add_request("fifty", 1);
  conn.send(batch);
  for (int i = 1; i <= 50; ++i) {
    auto r = conn.read_response();
    INFO("response #" << i);
    REQUIRE(r.has_value());
    REQUIRE(counter_value(*r) == i);
  }
}

TEST_CASE("pipelining: a slow first call still answers first",
          "[routes][pipelining]") {
  node_process node{{"--module", counter_module(), "--module", test_module("faulty")}};
  raw_connection conn{node.port()};
  conn.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 500})")
            + add_request("after-slow", 3) + make_request("GET", "/v1/faulty/ok"));
  auto first = conn.read_response();
  auto second = conn.read_response();
  auto third = conn.read_response();
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  REQUIRE(third.has_value());
  require_json_ok(*first);
  REQUIRE(int_field(first->body, "millis") == 500);
  REQUIRE(counter_value(*second) == 3);
  require_json_ok(*third);
  REQUIRE(contains(third->body, "\"ok\""));
}

// -- concurrency on one key -----------------------------------------------------

TEST_CASE("concurrency: 200 concurrent adds on one key give exactly 200",
          "[routes][concurrency]") {
  node_process node{example_modules()};
  constexpr int threads = 8;
  constexpr int calls_per_thread = 25;
  auto bodies = concurrent_calls(node.port(), threads, calls_per_thread,
                                 add_request("shared", 1));
  // Each add saw a distinct running total: no two ran on the same value.
  std::set<std::int64_t> seen;
  for (auto& body : bodies)
    seen.insert(int_field(body, "value"));
  REQUIRE(seen.size() == threads * calls_per_thread);
  REQUIRE(*seen.begin() == 1);
  REQUIRE(*seen.rbegin() == threads * calls_per_thread);
  REQUIRE(counter_get(node.port(), "shared") == threads * calls_per_thread);
}

// -- keyed activations ----------------------------------------------------------

TEST_CASE("activations: each distinct key activates one counter actor",
          "[routes][activations]") {
  node_process node{example_modules()};
  REQUIRE(admin_service(node.port(), "demo.counter.v1.Counter").active_actors() == 0);
  for (int i = 0; i < 5; ++i)
    REQUIRE(counter_add(node.port(), "act-" + std::to_string(i), 1) == 1);
  // A second call on a known key activates nothing new.
  REQUIRE(counter_add(node.port(), "act-0", 1) == 2);
  REQUIRE(admin_service(node.port(), "demo.counter.v1.Counter").active_actors() == 5);
}

TEST_CASE("activations: idle keyed actors are passivated, and their declared state is "
          "there again at the next call",
          "[routes][activations]") {
  node_process node{{"--module", counter_module(), "--idle-timeout", "300ms"}};
  REQUIRE(counter_add(node.port(), "sleepy", 7) == 7);
  bool passivated = eventually(
    [&] {
      return admin_service(node.port(), "demo.counter.v1.Counter").active_actors() == 0;
    },
    100, 100ms);
  REQUIRE(passivated);
  // The counter's value is its declared state: stored, and loaded again.
  REQUIRE(counter_get(node.port(), "sleepy") == 7);
  REQUIRE(counter_add(node.port(), "sleepy", 1) == 8);
}

TEST_CASE("activations: members of a keyed actor without declared state are gone at "
          "passivation",
          "[routes][activations]") {
  // FaultyKeyed.Get answers how many calls its activation served: a member.
  node_process node{{"--module", test_module("faulty"), "--idle-timeout", "300ms"}};
  auto calls = [&] { return int_field(http_call(node.port(), "GET", "/v1/faulty-keyed/m").body, "calls"); };
  REQUIRE(calls() == 1);
  REQUIRE(calls() == 2);
  REQUIRE(eventually(
    [&] { return admin_service(node.port(), "test.faulty.v1.FaultyKeyed").active_actors() == 0; },
    100, 100ms));
  REQUIRE(calls() == 1);
}

TEST_CASE("activations: calls arriving around the idle timeout are all served",
          "[routes][activations]") {
  // Pauses on both sides of the idle timeout: some calls find the activation
  // alive, some find it passivating or gone and activate the key again. Each
  // must be answered, and the count, stored state, goes on without a gap.
  node_process node{{"--module", counter_module(), "--idle-timeout", "100ms"}};
  raw_connection conn{node.port()};
  for (int i = 1; i <= 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{60 + (i % 5) * 20});
    INFO("call " << i);
    REQUIRE(counter_value(round_trip(conn, add_request("edge", 1))) == i);
  }
}
