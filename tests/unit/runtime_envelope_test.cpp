// The envelope as CAF serializes it for another node: a request or response
// object (handed over within a process) leaves as its bytes.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <google/protobuf/wrappers.pb.h>

#include "troupe/runtime/envelope.hpp"

using troupe::runtime::envelope;
using troupe::runtime::reply_envelope;

namespace {

template <class T>
T round_trip(T x) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(x));
  T y;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(y));
  return y;
}

std::shared_ptr<const google::protobuf::MessageLite> string_value(const char* text) {
  auto object = std::make_shared<google::protobuf::StringValue>();
  object->set_value(text);
  return object;
}

} // namespace

TEST_CASE("an envelope's request object crosses nodes as its bytes", "[runtime][envelope]") {
  envelope env;
  env.method = "Get";
  env.key = "k";
  env.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  env.principal = "alice";
  env.deadline_unix_ns = 42;
  env.object = string_value("hello");

  auto copy = round_trip(env);
  CHECK(copy.object == nullptr);
  google::protobuf::StringValue parsed;
  REQUIRE(parsed.ParseFromString(copy.payload));
  CHECK(parsed.value() == "hello");
  CHECK(copy.method == "Get");
  CHECK(copy.key == "k");
  CHECK(copy.traceparent == env.traceparent);
  CHECK(copy.principal == "alice");
  CHECK(copy.deadline_unix_ns == 42);
  // Serializing did not touch the original.
  CHECK(env.payload.empty());
  CHECK(env.object != nullptr);
}

TEST_CASE("an envelope with bytes crosses nodes as it is", "[runtime][envelope]") {
  envelope env;
  env.method = "Get";
  env.payload = std::string{"\x0a\x01x", 3};
  auto copy = round_trip(env);
  CHECK(copy.payload == env.payload);
  CHECK(copy.object == nullptr);
}

TEST_CASE("a reply's response object crosses nodes as its bytes", "[runtime][envelope]") {
  reply_envelope r;
  r.object = string_value("answer");
  auto copy = round_trip(r);
  CHECK(copy.code == 0);
  CHECK(copy.object == nullptr);
  google::protobuf::StringValue parsed;
  REQUIRE(parsed.ParseFromString(copy.payload));
  CHECK(parsed.value() == "answer");

  reply_envelope failed;
  failed.code = 5;
  failed.message = "no such key";
  auto failed_copy = round_trip(failed);
  CHECK(failed_copy.code == 5);
  CHECK(failed_copy.message == "no such key");
  CHECK(failed_copy.retry_after_ms == 0);
}

TEST_CASE("a reply's retry-after hint crosses nodes", "[runtime][envelope]") {
  reply_envelope r;
  r.code = 14;
  r.message = "quarantined";
  r.retry_after_ms = 2500;
  auto copy = round_trip(r);
  CHECK(copy.code == 14);
  CHECK(copy.message == "quarantined");
  CHECK(copy.retry_after_ms == 2500);
}
