// Supervision, seen from outside: a handler that throws gets its caller a 500
// and its actor restarted; more than max_restarts failures within the window
// mark a stateless service failed (503) until an operator resets it; nothing
// else on the node is affected. (Keyed services are supervised per key:
// key_supervision_test.cpp.) Uses tests/modules/faulty.proto:
//   test.faulty.v1.Faulty       stateless, 2 instances, 3 restarts in 60 s
//   test.faulty.v1.FaultyKeyed  keyed; Get answers the activation's call count
#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

constexpr const char* faulty = "test.faulty.v1.Faulty";
constexpr const char* faulty_keyed = "test.faulty.v1.FaultyKeyed";

std::vector<std::string> modules() {
  return {"--module", counter_module(), "--module", test_module("faulty")};
}

int ok_status(const node_process& node) {
  return http_call(node.port(), "GET", "/v1/faulty/ok").status;
}

/// Polls Ok (bounded) until it answers 200.
bool ok_serves_again(const node_process& node) {
  return eventually([&] { return ok_status(node) == 200; }, 100, 50ms);
}

/// Sends Fail until the admin API shows the service failed (bounded). Each
/// Fail must answer 500 (the handler threw) or 503 (the service is down).
void fail_until_given_up(const node_process& node) {
  bool failed = false;
  for (int i = 0; i < 20 && !failed; ++i) {
    auto r = http_call(node.port(), "POST", "/v1/faulty/fail");
    INFO("Fail #" << i + 1 << ": " << r.status << " " << r.body);
    REQUIRE((r.status == 500 || r.status == 503));
    failed = admin_service(node.port(), faulty).status() == "failed";
  }
  REQUIRE(failed);
}

/// A keyed Get; nullopt while the key's actor is unavailable (restarting).
std::optional<std::int64_t> keyed_calls(const node_process& node, const std::string& key) {
  auto r = http_call(node.port(), "GET", "/v1/faulty-keyed/" + key);
  if (r.status != 200)
    return std::nullopt;
  return int_field(r.body, "calls");
}

} // namespace

TEST_CASE("supervision: a failing handler answers 500 and the service keeps serving",
          "[supervision]") {
  node_process node{modules()};
  REQUIRE(ok_status(node) == 200);
  require_problem(http_call(node.port(), "POST", "/v1/faulty/fail"), 500);
  REQUIRE(ok_serves_again(node));
  auto info = admin_service(node.port(), faulty);
  REQUIRE(info.status() == "running");
  REQUIRE(info.failures() >= 1);
}

TEST_CASE("supervision: the admin API counts the restart", "[supervision]") {
  node_process node{modules()};
  REQUIRE(admin_service(node.port(), faulty).restarts() == 0);
  require_problem(http_call(node.port(), "POST", "/v1/faulty/fail"), 500);
  REQUIRE(eventually([&] { return admin_service(node.port(), faulty).restarts() >= 1; },
                     100, 50ms));
}

TEST_CASE("supervision: the admin API shows the service's restart policy",
          "[supervision]") {
  node_process node{modules()};
  auto info = admin_service(node.port(), faulty);
  REQUIRE(info.restart_policy().max_restarts() == 3);
  REQUIRE(info.restart_policy().window_ms() == 60000);
  REQUIRE(info.restart_policy().backoff_initial_ms() == 10);
  REQUIRE(info.restart_policy().backoff_max_ms() == 100);
}

TEST_CASE("supervision: a failure leaves other services alone", "[supervision]") {
  node_process node{modules()};
  REQUIRE(counter_add(node.port(), "bystander", 1) == 1);
  require_problem(http_call(node.port(), "POST", "/v1/faulty/fail"), 500);
  REQUIRE(counter_add(node.port(), "bystander", 1) == 2);
  REQUIRE(admin_service(node.port(), "demo.counter.v1.Counter").restarts() == 0);
}

TEST_CASE("supervision: more failures than the policy allows mark the service failed",
          "[supervision]") {
  node_process node{modules()};
  REQUIRE(counter_add(node.port(), "bystander", 1) == 1);
  fail_until_given_up(node);
  auto info = admin_service(node.port(), faulty);
  REQUIRE(info.status() == "failed");
  // Given up on the (max_restarts + 1)-th failure within the window.
  REQUIRE(info.failures() >= 4);

  SECTION("its calls answer 503") {
    require_problem(http_call(node.port(), "GET", "/v1/faulty/ok"), 503);
    require_problem(http_call(node.port(), "POST", "/v1/faulty/slow", R"({"millis": 1})"),
                    503);
    require_problem(http_call(node.port(), "POST", "/v1/faulty/fail"), 503);
  }
  SECTION("other services keep serving") {
    REQUIRE(counter_add(node.port(), "bystander", 1) == 2);
    REQUIRE(admin_service(node.port(), "demo.counter.v1.Counter").status() == "running");
    // Even the other service of the same module.
    REQUIRE(keyed_calls(node, "neighbour") == 1);
    REQUIRE(admin_service(node.port(), faulty_keyed).status() == "running");
    REQUIRE(http_call(node.port(), "GET", "/healthz").status == 200);
  }
  SECTION("the services list shows it failed") {
    auto list = admin_get<troupe::admin::v1::ServiceList>(node.port(), "/admin/v1/services");
    bool found = false;
    for (auto& s : list.services())
      if (s.name() == faulty) {
        found = true;
        REQUIRE(s.status() == "failed");
      }
    REQUIRE(found);
  }
  SECTION("an operator reset brings it back") {
    auto r = http_call(node.port(), "POST", std::string{"/admin/v1/services/"} + faulty + ":reset");
    INFO("reset: " << r.status << " " << r.body);
    REQUIRE(r.status >= 200);
    REQUIRE(r.status < 300);
    REQUIRE(ok_serves_again(node));
    REQUIRE(admin_service(node.port(), faulty).status() == "running");
    // And the restart budget is whole again: one failure is restarted.
    require_problem(http_call(node.port(), "POST", "/v1/faulty/fail"), 500);
    REQUIRE(ok_serves_again(node));
    REQUIRE(admin_service(node.port(), faulty).status() == "running");
  }
}

TEST_CASE("supervision: the give-up comes at exactly max_restarts + 1 failures",
          "[supervision]") {
  node_process node{modules()};
  // max_restarts 3: after each of the first three failures the service
  // restarts the instance and serves on ...
  for (int i = 1; i <= 3; ++i) {
    require_problem(http_call(node.port(), "POST", "/v1/faulty/fail"), 500);
    INFO("after failure " << i);
    REQUIRE(admin_service(node.port(), faulty).status() == "running");
    REQUIRE(ok_serves_again(node));
  }
  // ... and the fourth within the window gives up.
  require_problem(http_call(node.port(), "POST", "/v1/faulty/fail"), 500);
  auto info = admin_service(node.port(), faulty);
  REQUIRE(info.status() == "failed");
  REQUIRE(info.failures() == 4);
  REQUIRE(info.restarts() == 3);
  require_problem(http_call(node.port(), "GET", "/v1/faulty/ok"), 503);
}

TEST_CASE("supervision: resetting an unknown service answers a 404 problem",
          "[supervision]") {
  node_process node{modules()};
  require_problem(http_call(node.port(), "POST", "/admin/v1/services/no.such.v1.Service:reset"),
                  404);
}

TEST_CASE("supervision: a keyed actor that fails is replaced by a fresh activation",
          "[supervision][keyed]") {
  node_process node{modules()};
  REQUIRE(keyed_calls(node, "k") == 1);
  REQUIRE(keyed_calls(node, "k") == 2);
  REQUIRE(keyed_calls(node, "other") == 1);

  require_problem(http_call(node.port(), "POST", "/v1/faulty-keyed/k:fail"), 500);

  SECTION("the failed key starts counting again") {
    std::optional<std::int64_t> calls;
    REQUIRE(eventually(
      [&] {
        calls = keyed_calls(node, "k");
        return calls.has_value();
      },
      100, 50ms));
    REQUIRE(*calls == 1);
  }
  SECTION("other keys keep their activation") {
    REQUIRE(keyed_calls(node, "other") == 2);
  }
}
