// The actor key reaches the handler on every path: a real `troupe node` with
// tests/modules/keys, called through a gateway route, the admin API's call
// endpoint, `troupe shell` and another service's call_context::call. Each
// handler of test.keys.v1.KeyEcho answers {requestKey, contextKey, note}:
// the request's key field and the call's key as the handler saw them.
// Also: a key named twice differently, and keys the runtime refuses.
#include <string>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

constexpr const char* echo = "test.keys.v1.KeyEcho";

std::vector<std::string> keys_module() {
  return {"--name", "itest-keys", "--module", test_module("keys")};
}

std::string admin_call(const std::string& method) {
  return std::string{"/admin/v1/services/"} + echo + "/methods/" + method + ":call";
}

/// The request key and the context key the handler saw, from a KeySeen.
std::pair<std::string, std::string> seen_in(const google::protobuf::Struct& seen) {
  auto text = [&](const char* name) {
    const auto* value = find_field(seen, name);
    INFO("field " << name);
    REQUIRE(value != nullptr);
    return value->string_value();
  };
  return {text("requestKey"), text("contextKey")};
}

std::pair<std::string, std::string> seen(const http_response& r) {
  require_json_ok(r);
  return seen_in(parse_json(r.body));
}

using key_pair = std::pair<std::string, std::string>;

/// KeyRelay.Relay: calls KeyEcho.Echo for `target` with the request's key
/// field `request_key` (empty: left unset) and answers what it got.
google::protobuf::Struct relay(std::uint16_t port, const std::string& target_json,
                               const std::string& request_key = {}) {
  auto r = http_call(port, "POST", "/v1/key-relay",
                     R"({"target": )" + target_json + R"(, "requestKey": ")" + request_key
                       + R"("})");
  require_json_ok(r);
  return parse_json(r.body);
}

std::string text_field(const google::protobuf::Struct& doc, const char* name) {
  const auto* value = find_field(doc, name);
  return value != nullptr ? value->string_value() : std::string{};
}

} // namespace

TEST_CASE("keys: the handler sees the actor key in the request's key field on every path",
          "[keys]") {
  node_process node{keys_module()};
  auto port = node.port();

  SECTION("a gateway route, with a body or without") {
    CHECK(seen(http_call(port, "POST", "/v1/key-echo/k-route:echo", R"({"note": "n"})"))
          == key_pair{"k-route", "k-route"});
    CHECK(seen(http_call(port, "POST", "/v1/key-echo/k-route:echo"))
          == key_pair{"k-route", "k-route"});
    CHECK(seen(http_call(port, "GET", "/v1/key-echo/k%20get")) == key_pair{"k get", "k get"});
    // A body or query repeating the path's key is no conflict.
    CHECK(seen(http_call(port, "POST", "/v1/key-echo/k-same:echo", R"({"key": "k-same"})"))
          == key_pair{"k-same", "k-same"});
    CHECK(seen(http_call(port, "GET", "/v1/key-echo/k-same?key=k-same"))
          == key_pair{"k-same", "k-same"});
  }

  SECTION("the admin API: ?key= with an empty body, or the body's key alone") {
    CHECK(seen(http_call(port, "POST", admin_call("Echo") + "?key=k-admin"))
          == key_pair{"k-admin", "k-admin"});
    CHECK(seen(http_call(port, "POST", admin_call("Echo") + "?key=k-admin", "{}"))
          == key_pair{"k-admin", "k-admin"});
    CHECK(seen(http_call(port, "POST", admin_call("Unrouted") + "?key=k-unrouted", "{}"))
          == key_pair{"k-unrouted", "k-unrouted"});
    CHECK(seen(http_call(port, "POST", admin_call("Echo"), R"({"key": "k-body"})"))
          == key_pair{"k-body", "k-body"});
    CHECK(seen(http_call(port, "POST", admin_call("Echo") + "?key=k-both", R"({"key": "k-both"})"))
          == key_pair{"k-both", "k-both"});
  }

  SECTION("the shell's call command") {
    for (const char* method : {"Echo", "Unrouted"}) {
      auto r = run_command({TROUPE_BINARY, "shell", "--url", node.url(), "-c",
                            std::string{"call KeyEcho "} + method + " k-shell {}"},
                           std::chrono::seconds{30});
      INFO(method << ": " << r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(seen_in(parse_json(r.out)) == key_pair{"k-shell", "k-shell"});
    }
  }

  SECTION("another service's call through the generated client, key field left empty") {
    auto reply = relay(port, R"("k-relay")");
    INFO(text_field(reply, "errorMessage"));
    REQUIRE(text_field(reply, "errorCode").empty());
    const auto* inner = find_field(reply, "seen");
    REQUIRE(inner != nullptr);
    CHECK(seen_in(inner->struct_value()) == key_pair{"k-relay", "k-relay"});
  }
}

TEST_CASE("keys: a key field naming another key than the call's is refused, naming the "
          "field", "[keys]") {
  node_process node{keys_module()};
  auto port = node.port();

  SECTION("path and body: 400") {
    auto p = require_problem(
      http_call(port, "POST", "/v1/key-echo/in-path:echo", R"({"key": "in-body"})"), 400);
    CHECK(p.detail == R"(field 'key' is "in-body" in the body but "in-path" in the path)");
  }
  SECTION("path and query: 400") {
    auto p = require_problem(http_call(port, "GET", "/v1/key-echo/in-path?key=in-query"), 400);
    CHECK(p.detail == R"(field 'key' is "in-query" in the query but "in-path" in the path)");
  }
  SECTION("the admin API's ?key= and the body: 400") {
    auto p = require_problem(
      http_call(port, "POST", admin_call("Echo") + "?key=k-query", R"({"key": "k-body"})"), 400);
    CHECK(p.detail == R"(field 'key' is "k-body" but the call is for key "k-query")");
  }
  // Refused before any actor was activated for the key.
  SECTION("a refused HTTP call activates no actor") {
    require_problem(http_call(port, "POST", "/v1/key-echo/a:echo", R"({"key": "b"})"), 400);
    require_problem(http_call(port, "GET", "/v1/key-echo/a?key=b"), 400);
    require_problem(http_call(port, "POST", admin_call("Echo") + "?key=a", R"({"key": "b"})"), 400);
    CHECK(admin_service(port, echo).active_actors() == 0);
  }
  SECTION("call_context::call: the caller gets invalid_argument") {
    auto reply = relay(port, R"("k-target")", "k-other");
    CHECK(text_field(reply, "errorCode") == "invalid_argument");
    CHECK(text_field(reply, "errorMessage")
          == R"(field 'key' is "k-other" but the call is for key "k-target")");
  }
}

TEST_CASE("keys: a key with a control character, or too long, is refused on every path",
          "[keys]") {
  node_process node{keys_module()};
  auto port = node.port();

  SECTION("NUL in the path: 400 naming the key") {
    auto p = require_problem(http_call(port, "GET", "/v1/key-echo/a%00b"), 400);
    CHECK_THAT(p.detail, Catch::Contains(R"(the actor key "a\u0000b")"));
    CHECK_THAT(p.detail, Catch::Contains("U+0000"));
    require_problem(http_call(port, "POST", "/v1/key-echo/a%0Ab:echo"), 400);
    CHECK(admin_service(port, echo).active_actors() == 0);
  }
  SECTION("control characters through the admin API's ?key=: 400") {
    for (const char* key : {"a%01b", "%1B%5B31m", "del%7F", "c1%C2%9B"}) {
      INFO(key);
      auto p = require_problem(http_call(port, "POST", admin_call("Echo") + "?key=" + key), 400);
      CHECK_THAT(p.detail, Catch::Contains("control character"));
    }
    // Not UTF-8: refused too (before or by the runtime, a 400 either way).
    require_problem(http_call(port, "POST", admin_call("Echo") + "?key=%FF"), 400);
    CHECK(admin_service(port, echo).active_actors() == 0);
  }
  SECTION("a control character through call_context::call: the caller gets "
          "invalid_argument") {
    auto reply = relay(port, R"("a\u0001b")");
    CHECK(text_field(reply, "errorCode") == "invalid_argument");
    CHECK_THAT(text_field(reply, "errorMessage"), Catch::Contains("U+0001"));
    CHECK(admin_service(port, echo).active_actors() == 0);
  }
  SECTION("1024 bytes is a key, 1025 is a 400") {
    std::string longest(1024, 'k');
    CHECK(seen(http_call(port, "GET", "/v1/key-echo/" + longest)) == key_pair{longest, longest});
    auto p = require_problem(http_call(port, "GET", "/v1/key-echo/" + longest + "k"), 400);
    CHECK_THAT(p.detail, Catch::Contains("1025 bytes"));
    require_problem(http_call(port, "POST", admin_call("Echo") + "?key=" + longest + "k"), 400);
  }
  // The refusals leave the service serving.
  CHECK(seen(http_call(port, "GET", "/v1/key-echo/fine")) == key_pair{"fine", "fine"});
}
