// The actor key: what a key may hold (validate_key), and the keyed request's
// key field as the handler sees it, in-process through node::call with the
// request as bytes and as an object (tests/modules/keys).
#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "support/temp_dir.hpp"
#include "runtime/src/actor_key.hpp"
#include "troupe/runtime/node.hpp"

using namespace std::chrono_literals;
using troupe::status_code;
using troupe::runtime::envelope;
using troupe::runtime::escaped_key;
using troupe::runtime::max_key_bytes;
using troupe::runtime::node;
using troupe::runtime::node_config;
using troupe::runtime::reply_envelope;
using troupe::runtime::validate_key;
using troupe::test::temp_dir;
namespace pb = google::protobuf;

TEST_CASE("actor key: text without control characters, at most 1 KiB, is a key",
          "[runtime][key]") {
  auto ok = GENERATE(as<std::string>{}, "k", "two words", "a/b?c&d#e", "\"quoted\\\"",
                     "ключ", "日本語", "emoji \xF0\x9F\x98\x80", "\xC2\xA0nbsp",
                     "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", std::string(max_key_bytes, 'k'));
  INFO("key: " << ok);
  auto st = validate_key(ok);
  INFO(st.message());
  CHECK(st.is_ok());
}

TEST_CASE("actor key: control characters, malformed UTF-8, empty and too long are refused",
          "[runtime][key]") {
  struct bad_case {
    std::string key;
    std::string says;  // in the message
  };
  auto c = GENERATE(values<bad_case>({
    {"", "empty"},
    {std::string{"a\0b", 3}, "U+0000"},
    {"a\tb", "U+0009"},
    {"line\n", "U+000A"},
    {"\x1B[31m", "U+001B"},
    {"\x1F", "U+001F"},
    {"del\x7F", "U+007F"},
    {"c1 \xC2\x80", "U+0080"},
    {"csi \xC2\x9B", "U+009B"},
    {"c1 \xC2\x9F", "U+009F"},
    {"\xFF", "not valid UTF-8"},
    {"over\xC0\xAF", "not valid UTF-8"},        // overlong '/'
    {"over\xE0\x80\xAF", "not valid UTF-8"},    // overlong '/'
    {"sur\xED\xA0\x80", "not valid UTF-8"},     // a surrogate
    {"big\xF4\x90\x80\x80", "not valid UTF-8"}, // past U+10FFFF
    {"cut\xE2\x82", "not valid UTF-8"},
    {"\x80", "not valid UTF-8"},
    {std::string(max_key_bytes + 1, 'k'), "at most 1024"},
  }));
  INFO("key: " << escaped_key(c.key));
  auto st = validate_key(c.key);
  REQUIRE_FALSE(st.is_ok());
  CHECK(st.code() == status_code::invalid_argument);
  CHECK_THAT(st.message(), Catch::Contains(c.says));
  CHECK_THAT(st.message(), Catch::Contains("key"));
  // The message is one printable line: what it quotes of the key is escaped.
  for (char ch : st.message())
    CHECK((static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7F));
}

TEST_CASE("actor key: a refusal names the key, escaped and cut short", "[runtime][key]") {
  CHECK_THAT(validate_key(std::string{"ab\0c", 4}).message(),
             Catch::Contains(R"("ab\u0000c")"));
  CHECK_THAT(validate_key("x\xFFy").message(), Catch::Contains(R"("x\xFFy")"));
  CHECK(escaped_key("say \"hi\\\"") == R"(say \"hi\\\")");
  CHECK(escaped_key(std::string(100, 'k'), 8) == "kkkkkkkk...");
  // Cut by characters, never inside one.
  CHECK(escaped_key("日本語", 2) == "日本...");
  auto long_key = validate_key(std::string(5000, 'k')).message();
  CHECK_THAT(long_key, Catch::Contains("5000 bytes"));
  CHECK(long_key.size() < 200);
}

// -- the key field, in-process ------------------------------------------------

namespace {

constexpr const char* echo_service = "test.keys.v1.KeyEcho";

node_config keys_node(const temp_dir& dir) {
  node_config cfg;
  cfg.name = "unit";
  cfg.data_dir = dir.path();
  cfg.modules = {std::string{TROUPE_TEST_MODULES_DIR} + "/libkeys.so"};
  cfg.level = troupe::runtime::log_level::error;
  return cfg;
}

const pb::Descriptor& type(const char* name) {
  const auto* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  REQUIRE(d != nullptr);
  return *d;
}

/// A KeyedRequest of the module's generated class with `key` set.
std::shared_ptr<pb::Message> keyed_request(const std::string& key) {
  const auto& d = type("test.keys.v1.KeyedRequest");
  std::shared_ptr<pb::Message> m{pb::MessageFactory::generated_factory()->GetPrototype(&d)->New()};
  m->GetReflection()->SetString(m.get(), d.FindFieldByName("key"), key);
  return m;
}

std::string string_of(const pb::Message& m, const char* field) {
  return m.GetReflection()->GetString(m, m.GetDescriptor()->FindFieldByName(field));
}

/// node::call with `env` for `key`, waiting (bounded) for the reply.
reply_envelope call(node& n, const char* method, const std::string& key, envelope env) {
  env.method = method;
  env.key = key;
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + 10s).time_since_epoch())
                           .count();
  auto done = std::make_shared<std::promise<reply_envelope>>();
  auto result = done->get_future();
  n.call(echo_service, std::move(env), [done](reply_envelope r) { done->set_value(std::move(r)); });
  REQUIRE(result.wait_for(15s) == std::future_status::ready);
  return result.get();
}

/// What the handler saw: {request_key, context_key}.
std::pair<std::string, std::string> seen(const reply_envelope& r) {
  INFO("code " << r.code << ": " << r.message);
  REQUIRE(r.code == 0);
  std::unique_ptr<pb::Message> reply;
  if (r.object != nullptr) {
    reply.reset(static_cast<const pb::Message&>(*r.object).New());
    reply->CopyFrom(static_cast<const pb::Message&>(*r.object));
  } else {
    const auto& d = type("test.keys.v1.KeySeen");
    reply.reset(pb::MessageFactory::generated_factory()->GetPrototype(&d)->New());
    REQUIRE(reply->ParseFromString(r.payload));
  }
  return {string_of(*reply, "request_key"), string_of(*reply, "context_key")};
}

envelope with_bytes(const std::string& field_key) {
  envelope env;
  env.payload = keyed_request(field_key)->SerializeAsString();
  return env;
}

envelope with_object(std::shared_ptr<const pb::Message> object) {
  envelope env;
  env.object = std::move(object);
  return env;
}

} // namespace

TEST_CASE("key field: the handler sees the call's key in the request's key field",
          "[runtime][key]") {
  temp_dir dir;
  node n{keys_node(dir)};
  n.start();
  using key_pair = std::pair<std::string, std::string>;

  SECTION("bytes with the key field empty: filled") {
    CHECK(seen(call(n, "Echo", "k1", with_bytes(""))) == key_pair{"k1", "k1"});
    // The host's kept message is reused: the next call is filled afresh.
    CHECK(seen(call(n, "Echo", "k1", with_bytes(""))) == key_pair{"k1", "k1"});
    CHECK(seen(call(n, "Echo", "k1", with_bytes("k1"))) == key_pair{"k1", "k1"});
  }
  SECTION("the caller's object with the key field empty: filled in a copy, the object "
          "untouched") {
    auto object = keyed_request("");
    CHECK(seen(call(n, "Echo", "k2", with_object(object))) == key_pair{"k2", "k2"});
    CHECK(string_of(*object, "key").empty());
    // Through the host's kept message, which a bytes call then parses into.
    CHECK(seen(call(n, "Echo", "k2", with_object(object))) == key_pair{"k2", "k2"});
    CHECK(seen(call(n, "Echo", "k2", with_bytes(""))) == key_pair{"k2", "k2"});
    CHECK(seen(call(n, "Echo", "k2", with_object(keyed_request("k2")))) == key_pair{"k2", "k2"});
  }
  SECTION("a method without a route is served the same") {
    CHECK(seen(call(n, "Unrouted", "k3", with_bytes(""))) == key_pair{"k3", "k3"});
    CHECK(seen(call(n, "Unrouted", "k3", with_object(keyed_request("")))) == key_pair{"k3", "k3"});
  }
  SECTION("a key field naming another key: invalid_argument naming the field") {
    for (auto env : {with_bytes("other"), with_object(keyed_request("other"))}) {
      auto r = call(n, "Echo", "k4", std::move(env));
      CHECK(r.code == static_cast<int>(status_code::invalid_argument));
      CHECK(r.message == R"(field 'key' is "other" but the call is for key "k4")");
    }
    // The refusal leaves the kept message fit for the next call.
    CHECK(seen(call(n, "Echo", "k4", with_bytes(""))) == key_pair{"k4", "k4"});
  }
  SECTION("a key with a control character: invalid_argument, the handler never runs") {
    auto r = call(n, "Echo", std::string{"k\0", 2}, with_bytes(""));
    CHECK(r.code == static_cast<int>(status_code::invalid_argument));
    CHECK_THAT(r.message, Catch::Contains("U+0000"));
    CHECK(n.services().find(echo_service)->stats->calls.load() == 0);
  }
}
