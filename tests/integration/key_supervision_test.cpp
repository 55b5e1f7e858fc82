// Per-key supervision of a keyed service, seen from outside: a key that keeps
// failing is quarantined alone (503 with Retry-After) while the other keys
// answer and the service stays running; the quarantine ends, and grows when
// the key is quarantined again; the service fails only under the systematic
// rule or beyond the bound on failing keys; a reset lifts the quarantines.
// Uses tests/modules/faulty.proto's test.faulty.v1.FaultyKeys: 3 restarts per
// key within 60 s, quarantine 3 s doubling up to 12 s, failed at 5 distinct
// failing keys that are at least half of the service's keys, at most 50
// failing keys tracked. A test sees a quarantine while it lasts: 3 s leave a
// slow machine time for the next request.
#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

constexpr const char* faulty_keys = "test.faulty.v1.FaultyKeys";

node_process start_node() {
  return node_process{{"--module", test_module("faulty")}};
}

http_response get(const node_process& node, const std::string& key) {
  return http_call(node.port(), "GET", "/v1/faulty-keys/" + key);
}

/// A Get that must answer 200: the activation's call count.
std::int64_t calls(const node_process& node, const std::string& key) {
  auto r = get(node, key);
  INFO("GET " << key << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return int_field(r.body, "calls");
}

/// A Fail: the handler throws, so 500.
void fail(const node_process& node, const std::string& key) {
  require_problem(http_call(node.port(), "POST", "/v1/faulty-keys/" + key + ":fail"), 500);
}

troupe::admin::v1::ServiceInfo info(const node_process& node) {
  return admin_service(node.port(), faulty_keys);
}

/// Checks a quarantined key's answer: 503, with a Retry-After of whole
/// seconds, at least 1 and at most the quarantine's length.
void require_quarantined(const http_response& r, int max_seconds) {
  require_problem(r, 503);
  auto retry_after = r.header("retry-after");
  INFO("Retry-After: '" << retry_after << "'");
  REQUIRE_FALSE(retry_after.empty());
  REQUIRE(std::all_of(retry_after.begin(), retry_after.end(),
                      [](char c) { return c >= '0' && c <= '9'; }));
  auto seconds = std::stoi(retry_after);
  REQUIRE(seconds >= 1);
  REQUIRE(seconds <= max_seconds);
}

/// Polls (bounded) until `key` is served again: its quarantine ended.
bool served_again(const node_process& node, const std::string& key) {
  return eventually([&] { return get(node, key).status == 200; }, 100, 100ms);
}

} // namespace

TEST_CASE("key supervision: a poison key is quarantined alone while 100 other "
          "keys answer, and the service keeps running", "[supervision][keyed]") {
  auto node = start_node();
  for (int i = 0; i < 100; ++i)
    REQUIRE(calls(node, "key-" + std::to_string(i)) == 1);

  for (int i = 0; i < 4; ++i)
    fail(node, "poison");
  require_quarantined(get(node, "poison"), 3);
  require_quarantined(http_call(node.port(), "POST", "/v1/faulty-keys/poison:fail"), 3);

  // Every other key kept its activation (its count goes on) and is served.
  for (int i = 0; i < 100; ++i)
    REQUIRE(calls(node, "key-" + std::to_string(i)) == 2);
  auto s = info(node);
  CHECK(s.status() == "running");
  CHECK(s.failures() == 4);
  CHECK(s.quarantines() == 1);
  CHECK(s.tracked_keys() == 1);
  CHECK(s.key_supervision().systematic_keys() == 5);
  CHECK(s.key_supervision().systematic_percent() == 50);
  CHECK(s.key_supervision().max_tracked_keys() == 50);
  CHECK(s.key_supervision().quarantine_initial_ms() == 3000);
  CHECK(s.key_supervision().quarantine_max_ms() == 12000);
  CHECK(s.quarantined_keys() == 1);
  CHECK_FALSE(s.key_supervision().rule().empty());

  // After its quarantine the key is activated afresh.
  REQUIRE(served_again(node, "poison"));
  REQUIRE(calls(node, "poison") == 2);  // the call in served_again was the first
  CHECK(info(node).status() == "running");
  CHECK(info(node).quarantined_keys() == 0);
}

TEST_CASE("key supervision: the admin API lists a quarantined key, and a key "
          "quarantined again soon after its release stays out twice as long",
          "[supervision][keyed]") {
  auto node = start_node();
  for (int i = 0; i < 4; ++i)
    fail(node, "relapse");
  auto s = info(node);
  REQUIRE(s.latest_quarantined_size() == 1);
  CHECK(s.latest_quarantined(0).key() == "relapse");
  CHECK(s.latest_quarantined(0).period_ms() == 3000);
  CHECK(s.latest_quarantined(0).streak() == 1);
  CHECK(s.latest_quarantined(0).remaining_ms() <= 3000);

  REQUIRE(served_again(node, "relapse"));
  for (int i = 0; i < 4; ++i)
    fail(node, "relapse");
  require_quarantined(get(node, "relapse"), 6);
  s = info(node);
  CHECK(s.quarantines() == 2);
  CHECK(s.status() == "running");
  REQUIRE(s.latest_quarantined_size() == 1);
  CHECK(s.latest_quarantined(0).period_ms() == 6000);
  CHECK(s.latest_quarantined(0).streak() == 2);
}

TEST_CASE("key supervision: a quarantined key is not passivated while its "
          "quarantine lasts", "[supervision][keyed]") {
  // The idle sweep runs every 100 ms; the quarantine lasts 3 s.
  node_process node{{"--module", test_module("faulty"), "--idle-timeout", "100ms"}};
  for (int i = 0; i < 4; ++i)
    fail(node, "held");
  // Two idle periods for every shard: a key activated after the quarantine
  // is passivated (one period at least after its call), twice in a row. The
  // quarantined key, idle all that time, stays: it alone is left.
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    REQUIRE(calls(node, "witness") == 1);
    REQUIRE(eventually([&] { return info(node).active_actors() == 1; }, 100, 20ms));
  }
  // Passivated, it would start afresh at this call instead.
  require_quarantined(get(node, "held"), 3);
}

TEST_CASE("key supervision: a key's give-up comes at exactly max_restarts + 1 "
          "failures", "[supervision][keyed]") {
  auto node = start_node();
  // max_restarts 3: each of the first three failures restarts the key (the
  // next call is served by a fresh object, first call again) ...
  for (int i = 1; i <= 3; ++i) {
    fail(node, "limit");
    INFO("after failure " << i);
    REQUIRE(calls(node, "limit") == 1);
  }
  // ... and the fourth quarantines it.
  fail(node, "limit");
  require_quarantined(get(node, "limit"), 3);
  CHECK(info(node).quarantines() == 1);
  CHECK(info(node).restarts() == 3);
}

TEST_CASE("key supervision: a key whose on_activate throws is quarantined without "
          "a single call served", "[supervision][keyed]") {
  auto node = start_node();
  REQUIRE(calls(node, "bystander") == 1);
  // The call waits out the key's restarts (each on_activate throws again)
  // and is refused when the key is quarantined.
  require_quarantined(get(node, "bad-start-1"), 3);
  auto s = info(node);
  CHECK(s.failures() == 4);
  CHECK(s.quarantines() == 1);
  CHECK(s.status() == "running");
  CHECK(calls(node, "bystander") == 2);
}

TEST_CASE("key supervision: the service fails when many distinct keys fail within "
          "the window", "[supervision][keyed]") {
  auto node = start_node();
  // 5 distinct keys, each of them failing: all of the service's keys.
  for (int k = 1; k <= 4; ++k) {
    fail(node, "sys-" + std::to_string(k));
    INFO("after key " << k);
    REQUIRE(info(node).status() == "running");
  }
  fail(node, "sys-5");
  REQUIRE(info(node).status() == "failed");
  require_problem(get(node, "healthy"), 503);
  require_problem(get(node, "sys-1"), 503);

  SECTION("an operator reset brings it back") {
    auto r = http_call(node.port(), "POST",
                       std::string{"/admin/v1/services/"} + faulty_keys + ":reset");
    REQUIRE(r.status == 200);
    REQUIRE(info(node).status() == "running");
    REQUIRE(calls(node, "healthy") == 1);
    // The count of failing keys starts over: one more is not the sixth.
    fail(node, "sys-6");
    REQUIRE(info(node).status() == "running");
  }
}

TEST_CASE("key supervision: failing keys among many healthy ones are not "
          "systematic, up to the bound on failing keys", "[supervision][keyed]") {
  auto node = start_node();
  for (int i = 0; i < 200; ++i)
    REQUIRE(calls(node, "healthy-" + std::to_string(i)) == 1);
  // 50 distinct failing keys among 250: a fifth, under the half that is
  // systematic; 50 is also the most the service tracks.
  for (int k = 1; k <= 50; ++k)
    fail(node, "few-" + std::to_string(k));
  auto s = info(node);
  REQUIRE(s.status() == "running");
  CHECK(s.tracked_keys() == 50);
  CHECK(calls(node, "healthy-0") == 2);
  // One more failing key than the service can keep track of.
  fail(node, "few-51");
  REQUIRE(info(node).status() == "failed");
}

TEST_CASE("key supervision: a reset lifts a key's quarantine", "[supervision][keyed]") {
  auto node = start_node();
  for (int i = 0; i < 4; ++i)
    fail(node, "reset-me");
  require_quarantined(get(node, "reset-me"), 3);
  auto r = http_call(node.port(), "POST",
                     std::string{"/admin/v1/services/"} + faulty_keys + ":reset");
  REQUIRE(r.status == 200);
  CHECK(info(node).quarantined_keys() == 0);
  CHECK(info(node).tracked_keys() == 0);
  // Served at once, by a fresh object.
  REQUIRE(calls(node, "reset-me") == 1);
}
