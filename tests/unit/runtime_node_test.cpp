// The runtime in-process: module loading faults, calls through node::call,
// keyed activations and passivation, supervision restarts and give-up.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include "support/temp_dir.hpp"
#include "troupe/runtime/module_loader.hpp"
#include "troupe/runtime/node.hpp"

using namespace std::chrono_literals;
using troupe::status_code;
using troupe::runtime::envelope;
using troupe::runtime::load_module;
using troupe::runtime::node;
using troupe::runtime::node_config;
using troupe::runtime::reply_envelope;
using troupe::runtime::startup_error;
using troupe::test::temp_dir;

namespace {

std::string test_module(const std::string& name) {
  return std::string{TROUPE_TEST_MODULES_DIR} + "/lib" + name + ".so";
}

std::string counter_module() {
  return std::string{TROUPE_EXAMPLES_DIR} + "/libcounter.so";
}

std::string load_error(const std::string& path) {
  try {
    load_module(path);
  } catch (const startup_error& e) {
    return e.what();
  }
  return "";
}

/// Serializes a message of `type` (looked up in the generated pool, where the
/// loaded module registered it) with one int or string field set.
std::string payload(const std::string& type, const std::string& field,
                    std::int32_t value) {
  auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  REQUIRE(desc != nullptr);
  std::unique_ptr<google::protobuf::Message> msg{
    google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc)->New()};
  if (!field.empty())
    msg->GetReflection()->SetInt32(msg.get(), desc->FindFieldByName(field), value);
  return msg->SerializeAsString();
}

/// Parses `bytes` as a message of `type` from the generated pool.
std::unique_ptr<google::protobuf::Message> parse_as(const std::string& type,
                                                    const std::string& bytes) {
  auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  REQUIRE(desc != nullptr);
  std::unique_ptr<google::protobuf::Message> msg{
    google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc)->New()};
  REQUIRE(msg->ParseFromString(bytes));
  return msg;
}

std::int32_t int_field(const std::string& type, const std::string& bytes,
                       const std::string& field) {
  auto msg = parse_as(type, bytes);
  return msg->GetReflection()->GetInt32(*msg, msg->GetDescriptor()->FindFieldByName(field));
}

std::string string_field(const std::string& type, const std::string& bytes,
                         const std::string& field) {
  auto msg = parse_as(type, bytes);
  return msg->GetReflection()->GetString(*msg, msg->GetDescriptor()->FindFieldByName(field));
}

/// node::call from this thread; the future gets the reply.
std::future<reply_envelope> call_async(node& n, const std::string& service,
                                       const std::string& method, const std::string& key,
                                       std::string body, std::chrono::milliseconds timeout) {
  envelope env;
  env.method = method;
  env.key = key;
  env.payload = std::move(body);
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + timeout).time_since_epoch())
                           .count();
  auto done = std::make_shared<std::promise<reply_envelope>>();
  auto result = done->get_future();
  n.call(service, std::move(env), [done](reply_envelope r) { done->set_value(std::move(r)); });
  return result;
}

/// node::call from this thread, waiting (bounded) for the reply.
reply_envelope call(node& n, const std::string& service, const std::string& method,
                    const std::string& key, std::string body,
                    std::chrono::milliseconds timeout = 10s) {
  auto result = call_async(n, service, method, key, std::move(body), timeout);
  REQUIRE(result.wait_for(timeout + 5s) == std::future_status::ready);
  return result.get();
}

node_config config_with(std::vector<std::string> modules, const temp_dir& dir) {
  node_config cfg;
  cfg.name = "unit";
  cfg.data_dir = dir.path();
  cfg.modules = std::move(modules);
  cfg.level = troupe::runtime::log_level::error;
  return cfg;
}

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

} // namespace

TEST_CASE("module loading faults are one line naming the module and the fault",
          "[runtime][modules]") {
  SECTION("missing file") {
    auto err = load_error("/nonexistent/libnothing.so");
    CHECK_THAT(err, Catch::Contains("/nonexistent/libnothing.so"));
    CHECK_THAT(err, Catch::Contains("no such file"));
  }
  SECTION("not a shared library") {
    temp_dir dir;
    auto path = dir.path() + "/libtext.so";
    std::ofstream{path} << "not an ELF file\n";
    auto err = load_error(path);
    CHECK_THAT(err, Catch::Contains(path));
    CHECK_THAT(err, Catch::Contains("cannot be loaded"));
  }
  SECTION("a directory") {
    temp_dir dir;
    CHECK_THAT(load_error(dir.path()), Catch::Contains("directory"));
  }
  SECTION("no entry point") {
    auto err = load_error(test_module("missing_entry"));
    CHECK_THAT(err, Catch::Contains("missing_entry"));
    CHECK_THAT(err, Catch::Contains("entry point"));
  }
  SECTION("another SDK ABI") {
    auto err = load_error(test_module("wrong_abi"));
    CHECK_THAT(err, Catch::Contains("wrong_abi"));
    CHECK_THAT(err, Catch::Contains("ABI 999"));
  }
  SECTION("a service registered twice") {
    auto err = load_error(test_module("dup_name"));
    CHECK_THAT(err, Catch::Contains("dup_name"));
    CHECK_THAT(err, Catch::Contains("twice"));
  }
  for (auto& line : {load_error("/nonexistent/x.so"), load_error(test_module("wrong_abi"))})
    CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("a node refuses the same module twice and leaves nothing running",
          "[runtime][modules]") {
  temp_dir dir;
  node n{config_with({counter_module(), counter_module()}, dir)};
  CHECK_THROWS_WITH(n.start(), Catch::Contains("loaded twice"));
}

TEST_CASE("two nodes cannot share a data directory", "[runtime]") {
  temp_dir dir;
  node first{config_with({counter_module()}, dir)};
  first.start();
  node second{config_with({counter_module()}, dir)};
  CHECK_THROWS_WITH(second.start(), Catch::Contains("in use"));
}

TEST_CASE("keyed calls reach one activation per key and count exactly",
          "[runtime][keyed]") {
  temp_dir dir;
  node n{config_with({counter_module()}, dir)};
  n.start();
  const std::string svc = "demo.counter.v1.Counter";
  auto add = payload("demo.counter.v1.AddRequest", "delta", 1);
  constexpr int threads = 4, per_thread = 50;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i)
        call(n, svc, "Add", "k", add);
    });
  for (auto& w : workers)
    w.join();
  auto r = call(n, svc, "Get", "k", payload("demo.counter.v1.GetRequest", "", 0));
  REQUIRE(r.code == 0);
  CHECK(int_field("demo.counter.v1.CounterValue", r.payload, "value") == threads * per_thread);
  call(n, svc, "Get", "other", payload("demo.counter.v1.GetRequest", "", 0));
  CHECK(n.services().find(svc)->stats->active_actors.load() == 2);
}

TEST_CASE("keyed calls without a key and unknown services are refused",
          "[runtime][keyed]") {
  temp_dir dir;
  node n{config_with({counter_module()}, dir)};
  n.start();
  auto r = call(n, "demo.counter.v1.Counter", "Get", "", {});
  CHECK(r.code == static_cast<int>(status_code::invalid_argument));
  r = call(n, "no.such.Service", "Get", "", {});
  CHECK(r.code == static_cast<int>(status_code::unavailable));
  r = call(n, "demo.counter.v1.Counter", "NoSuchMethod", "k", {});
  CHECK(r.code == static_cast<int>(status_code::unimplemented));
}

TEST_CASE("idle keyed activations are passivated and their declared state stays",
          "[runtime][keyed]") {
  temp_dir dir;
  auto cfg = config_with({counter_module()}, dir);
  cfg.idle_timeout = 100ms;
  node n{cfg};
  n.start();
  const std::string svc = "demo.counter.v1.Counter";
  call(n, svc, "Add", "idle", payload("demo.counter.v1.AddRequest", "delta", 5));
  auto& stats = *n.services().find(svc)->stats;
  CHECK(stats.active_actors.load() == 1);
  CHECK(eventually([&] { return stats.active_actors.load() == 0; }));
  // The node's default store keeps it in memory: the key reads it again.
  auto r = call(n, svc, "Get", "idle", payload("demo.counter.v1.GetRequest", "", 0));
  CHECK(int_field("demo.counter.v1.CounterValue", r.payload, "value") == 5);
}

TEST_CASE("a throwing handler answers internal, restarts, and gives up after "
          "too many restarts", "[runtime][supervision]") {
  temp_dir dir;
  node n{config_with({test_module("faulty")}, dir)};
  n.start();
  const std::string svc = "test.faulty.v1.Faulty";
  auto empty = payload("test.faulty.v1.Empty", "", 0);
  auto& stats = *n.services().find(svc)->stats;

  auto r = call(n, svc, "Fail", "", empty);
  CHECK(r.code == static_cast<int>(status_code::internal));
  CHECK(r.message.find("secret") == std::string::npos);
  CHECK(stats.restarts.load() == 1);
  // Both instances serve again (the restarted one after its back-off).
  for (int i = 0; i < 4; ++i)
    CHECK(call(n, svc, "Ok", "", empty).code == 0);
  CHECK_FALSE(stats.failed.load());

  // Policy: 3 restarts in 60 s; the 4th failure gives up.
  for (int i = 0; i < 3; ++i)
    call(n, svc, "Fail", "", empty);
  CHECK(stats.failed.load());
  CHECK(call(n, svc, "Ok", "", empty).code == static_cast<int>(status_code::unavailable));

  // An operator reset brings it back.
  REQUIRE(n.reset_service(svc));
  CHECK(eventually([&] { return call(n, svc, "Ok", "", empty).code == 0; }));
}

TEST_CASE("a keyed activation restarts with fresh state after a failure",
          "[runtime][supervision]") {
  temp_dir dir;
  node n{config_with({test_module("faulty")}, dir)};
  n.start();
  const std::string svc = "test.faulty.v1.FaultyKeyed";
  auto req = payload("test.faulty.v1.KeyedRequest", "", 0);
  call(n, svc, "Get", "a", req);
  auto before = call(n, svc, "Get", "a", req);
  CHECK(int_field("test.faulty.v1.CallCount", before.payload, "calls") == 2);
  CHECK(call(n, svc, "Fail", "a", req).code == static_cast<int>(status_code::internal));
  auto after = call(n, svc, "Get", "a", req);
  REQUIRE(after.code == 0);
  CHECK(int_field("test.faulty.v1.CallCount", after.payload, "calls") == 1);
}

/// A serialized test.faulty.v1.RelayRequest.
std::string relay_request(const std::string& target, std::int32_t slow_millis = 0) {
  auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
    "test.faulty.v1.RelayRequest");
  REQUIRE(desc != nullptr);
  std::unique_ptr<google::protobuf::Message> msg{
    google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc)->New()};
  auto* reflection = msg->GetReflection();
  reflection->SetString(msg.get(), desc->FindFieldByName("target"), target);
  reflection->SetInt32(msg.get(), desc->FindFieldByName("slow_millis"), slow_millis);
  return msg->SerializeAsString();
}

TEST_CASE("a keyed handler calls keys of its own shard, itself included, "
          "without blocking it", "[runtime][keyed]") {
  temp_dir dir;
  auto cfg = config_with({test_module("faulty")}, dir);
  cfg.keyed_shards = 1;  // every key in one shard: the calls go to itself
  node n{cfg};
  n.start();
  const std::string svc = "test.faulty.v1.FaultyKeyed";
  auto relay = [&](const std::string& key, const std::string& target) {
    return call(n, svc, "Relay", key, relay_request(target));
  };

  // a -> b: b's first call.
  auto r = relay("a", "b");
  REQUIRE(r.code == 0);
  CHECK(int_field("test.faulty.v1.CallCount", r.payload, "calls") == 1);
  // a -> a: the relay is a's 2nd call, the Get it makes its 3rd; a's handler
  // returned a promise, so the shard serves the Get meanwhile.
  r = relay("a", "a");
  REQUIRE(r.code == 0);
  CHECK(int_field("test.faulty.v1.CallCount", r.payload, "calls") == 3);
  CHECK(n.services().find(svc)->stats->active_actors.load() == 2);
}

TEST_CASE("a continuation of a service object that was restarted since is "
          "dropped, and its caller answered", "[runtime][supervision]") {
  temp_dir dir;
  node n{config_with({test_module("faulty")}, dir)};
  n.start();
  const std::string svc = "test.faulty.v1.FaultyKeyed";
  // Key a's Relay waits 300 ms for Faulty.Slow, holding a continuation that
  // refers to a's service object; meanwhile a's Fail drops that object.
  auto relayed = call_async(n, svc, "Relay", "a", relay_request("", 300), 10s);
  auto req = payload("test.faulty.v1.KeyedRequest", "", 0);
  CHECK(call(n, svc, "Fail", "a", req).code == static_cast<int>(status_code::internal));
  REQUIRE(relayed.wait_for(15s) == std::future_status::ready);
  auto r = relayed.get();
  CHECK(r.code == static_cast<int>(status_code::internal));
  // The fresh object serves on.
  auto after = call(n, svc, "Get", "a", req);
  REQUIRE(after.code == 0);
  CHECK(int_field("test.faulty.v1.CallCount", after.payload, "calls") == 1);
}

TEST_CASE("a handler that drops its promise unkept still answers its caller",
          "[runtime][calls]") {
  temp_dir dir;
  node n{config_with({test_module("faulty")}, dir)};
  n.start();
  auto r = call(n, "test.faulty.v1.Faulty", "Forget", "", "");
  CHECK(r.code == static_cast<int>(status_code::internal));
  CHECK(r.message == "the handler dropped its promise unanswered");
  // The instance is not restarted for it: nothing threw.
  CHECK(n.services().find("test.faulty.v1.Faulty")->stats->restarts.load() == 0);
  CHECK(call(n, "test.faulty.v1.Faulty", "Ok", "", "").code == 0);
}

TEST_CASE("a copy of a handler's context sees the same call, answered once",
          "[runtime][calls]") {
  temp_dir dir;
  node n{config_with({test_module("faulty")}, dir)};
  n.start();
  const std::string svc = "test.faulty.v1.FaultyKeyed";
  // Twice on one key: the request messages the host keeps are reused.
  for (int i = 0; i < 2; ++i) {
    auto r = call(n, svc, "Describe", "k0", "");
    REQUIRE(r.code == 0);
    CHECK(string_field("test.faulty.v1.CallInfo", r.payload, "service") == svc);
    CHECK(string_field("test.faulty.v1.CallInfo", r.payload, "method") == "Describe");
    CHECK(string_field("test.faulty.v1.CallInfo", r.payload, "key") == "k0");
    CHECK(string_field("test.faulty.v1.CallInfo", r.payload, "instance") == "unit/" + svc + "[k0]");
  }
  // The handler found the call answered through both contexts (it throws
  // otherwise).
  CHECK(n.services().find(svc)->stats->failures.load() == 0);
  // Answered by the handler's return value after the copy: the handler's own
  // context forwards to the shared call. (The request's key field holds the
  // call's key, so the key itself selects the handler's branch.)
  auto direct = call(n, svc, "Describe", "direct", std::string{"\x0a\x06" "direct", 8});
  REQUIRE(direct.code == 0);
  CHECK(string_field("test.faulty.v1.CallInfo", direct.payload, "method") == "Describe");
  CHECK(string_field("test.faulty.v1.CallInfo", direct.payload, "key") == "direct");
}

namespace {

/// A counter request object: of the module's generated class from `factory`
/// = the generated factory, or a dynamic message of the same type.
std::shared_ptr<google::protobuf::Message> counter_request(google::protobuf::MessageFactory& factory,
                                                           const char* type, const char* key,
                                                           std::int32_t delta) {
  auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  REQUIRE(desc != nullptr);
  std::shared_ptr<google::protobuf::Message> msg{factory.GetPrototype(desc)->New()};
  msg->GetReflection()->SetString(msg.get(), desc->FindFieldByName("key"), key);
  if (delta != 0)
    msg->GetReflection()->SetInt32(msg.get(), desc->FindFieldByName("delta"), delta);
  return msg;
}

reply_envelope call_with_object(node& n, const char* method, const std::string& key,
                                std::shared_ptr<const google::protobuf::MessageLite> object) {
  envelope env;
  env.method = method;
  env.key = key;
  env.object = std::move(object);
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + 10s).time_since_epoch())
                           .count();
  auto done = std::make_shared<std::promise<reply_envelope>>();
  auto result = done->get_future();
  n.call("demo.counter.v1.Counter", std::move(env),
         [done](reply_envelope r) { done->set_value(std::move(r)); });
  REQUIRE(result.wait_for(15s) == std::future_status::ready);
  return result.get();
}

std::int32_t counter_value(const reply_envelope& r) {
  REQUIRE(r.code == 0);
  // Asked with an object, answered with one; no bytes.
  CHECK(r.payload.empty());
  const auto* reply = dynamic_cast<const google::protobuf::Message*>(r.object.get());
  REQUIRE(reply != nullptr);
  CHECK(reply->GetTypeName() == "demo.counter.v1.CounterValue");
  return reply->GetReflection()->GetInt32(*reply, reply->GetDescriptor()->FindFieldByName("value"));
}

} // namespace

TEST_CASE("a caller in the node hands its request over as an object and gets "
          "the response as one", "[runtime][calls]") {
  temp_dir dir;
  node n{config_with({counter_module()}, dir)};
  n.start();
  auto& generated = *google::protobuf::MessageFactory::generated_factory();
  auto add = counter_request(generated, "demo.counter.v1.AddRequest", "obj", 5);
  CHECK(counter_value(call_with_object(n, "Add", "obj", add)) == 5);
  // The same object again: the actor did not change it.
  CHECK(counter_value(call_with_object(n, "Add", "obj", add)) == 10);

  // Another class for the type (a dynamic message, as a caller without the
  // module's generated code builds): converted through its bytes.
  google::protobuf::DynamicMessageFactory dynamic;
  auto dyn_add = counter_request(dynamic, "demo.counter.v1.AddRequest", "obj", 7);
  CHECK(counter_value(call_with_object(n, "Add", "obj", dyn_add)) == 17);

  // And bytes still get bytes.
  auto get = call(n, "demo.counter.v1.Counter", "Get", "obj",
                  counter_request(generated, "demo.counter.v1.GetRequest", "obj", 0)
                    ->SerializeAsString());
  REQUIRE(get.code == 0);
  CHECK(get.object == nullptr);
  CHECK(int_field("demo.counter.v1.CounterValue", get.payload, "value") == 17);
}

namespace {

/// Sends `env` to `target` as a CAF request from `self`, as a handler's call
/// to another service or the gateway's does, and waits (bounded) for the
/// response.
reply_envelope request_from(caf::scoped_actor& self, const caf::actor& target, envelope env) {
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + 10s).time_since_epoch())
                           .count();
  reply_envelope result;
  result.code = -1;
  self->request(target, 10s, std::move(env))
    .receive([&](reply_envelope& r) { result = std::move(r); },
             [&](caf::error& err) { FAIL("CAF error: " << to_string(err)); });
  return result;
}

envelope keyed_envelope(const char* method, const std::string& key, std::string body) {
  envelope env;
  env.method = method;
  env.key = key;
  env.payload = std::move(body);
  return env;
}

} // namespace

TEST_CASE("a CAF actor's request is answered once: now, later through a promise, "
          "and after a restart", "[runtime][calls]") {
  temp_dir dir;
  node n{config_with({test_module("faulty")}, dir)};
  n.start();
  const std::string svc = "test.faulty.v1.FaultyKeyed";
  auto target = n.resolve(svc, "r");
  REQUIRE(target);
  auto req = payload("test.faulty.v1.KeyedRequest", "", 0);
  caf::scoped_actor self{n.system()};

  // Answered while the handler runs.
  auto r = request_from(self, target, keyed_envelope("Get", "r", req));
  REQUIRE(r.code == 0);
  CHECK(int_field("test.faulty.v1.CallCount", r.payload, "calls") == 1);

  // Answered through a promise, after the handler returned: r relays to s,
  // whose Get is its first call.
  r = request_from(self, target, keyed_envelope("Relay", "r", relay_request("s")));
  REQUIRE(r.code == 0);
  CHECK(int_field("test.faulty.v1.CallCount", r.payload, "calls") == 1);

  // A failure answers internal. The Get sent with it is in the mailbox
  // behind it, so it waits out the back-off in the stash, and the fresh
  // object answers it after the handler that took it returned.
  auto failing = self->request(target, 10s, keyed_envelope("Fail", "r", req));
  auto stashed = self->request(target, 10s, keyed_envelope("Get", "r", req));
  auto receive = [](auto& handle) {
    reply_envelope result;
    result.code = -1;
    handle.receive([&](reply_envelope& x) { result = std::move(x); },
                   [&](caf::error& err) { FAIL("CAF error: " << to_string(err)); });
    return result;
  };
  CHECK(receive(failing).code == static_cast<int>(status_code::internal));
  r = receive(stashed);
  REQUIRE(r.code == 0);
  CHECK(int_field("test.faulty.v1.CallCount", r.payload, "calls") == 1);

  // Every request got exactly one response: CAF keeps a response nobody
  // awaits in the mailbox, and a second one would be there by now, the actor
  // having answered a later request since.
  CHECK(self->mailbox().empty());
}

TEST_CASE("a stateless service with a cluster-wide count runs all its instances on a node "
          "alone, and scaling it retires and takes back instances",
          "[runtime][scale]") {
  temp_dir dir;
  node n{config_with({test_module("spread"), counter_module()}, dir)};
  n.start();
  const std::string spread = "test.spread.v1.Spread";
  const std::string reply_type = "test.spread.v1.WhereReply";
  auto place = [&](int i) { return "unit/" + spread + "#" + std::to_string(i); };
  const auto* entry = n.services().find(spread);
  REQUIRE(entry != nullptr);
  CHECK(entry->cluster_instances == 5);
  CHECK(entry->stats->instances.load() == 5);
  // Which service object answered from each instance, over `calls` calls
  // (round robin: each instance in turn).
  auto answering = [&](int calls) {
    std::map<std::string, std::string> out;
    for (int i = 0; i < calls; ++i) {
      auto r = call(n, spread, "Where", "", "");
      REQUIRE(r.code == 0);
      out[string_field(reply_type, r.payload, "instance")] =
        string_field(reply_type, r.payload, "object");
    }
    return out;
  };
  auto actors_now = [&] {
    for (auto& hosted : n.hosted_services())
      if (hosted.entry->name == spread)
        return hosted.actors;
    FAIL("the node hosts no " << spread);
    return std::vector<caf::actor>{};
  };
  auto first = answering(10);
  REQUIRE(first.size() == 5);
  auto five = actors_now();
  REQUIRE(five.size() == 5);

  // Only a service with a cluster-wide count scales.
  CHECK_FALSE(n.scale("demo.counter.v1.Counter", 1, 0ms).has_value());
  CHECK_FALSE(n.scale("no.such.Service", 1, 0ms).has_value());

  // Down to two: the first two places answer, the same objects as before.
  REQUIRE(n.scale(spread, 2, 60s) == 2u);
  CHECK(entry->stats->instances.load() == 2);
  CHECK(actors_now().size() == 2);
  auto two = answering(10);
  CHECK(two == std::map<std::string, std::string>{{place(0), first[place(0)]},
                                                  {place(1), first[place(1)]}});
  // A retiring instance still answers a call that reaches it in its grace
  // (from a caller that resolved it before the change).
  {
    caf::scoped_actor self{n.system()};  // gone before the node stops
    envelope where;
    where.method = "Where";
    auto late = request_from(self, five[4], where);
    REQUIRE(late.code == 0);
    CHECK(string_field(reply_type, late.payload, "object") == first[place(4)]);
  }

  // Up to four within the grace: places 2 and 3 are taken back as they were.
  REQUIRE(n.scale(spread, 4, 60s) == 4u);
  auto four = answering(12);
  REQUIRE(four.size() == 4);
  for (int i = 0; i < 4; ++i)
    CHECK(four[place(i)] == first[place(i)]);

  // Down to one without a grace: the three retired instances stop.
  REQUIRE(n.scale(spread, 1, 0ms) == 1u);
  {
    caf::scoped_actor self{n.system()};
    for (int i = 1; i < 4; ++i)
      self->monitor(five[static_cast<std::size_t>(i)]);
    int stopped = 0;
    for (int i = 0; i < 3; ++i)
      self->receive([&](caf::down_msg&) { ++stopped; },
                    caf::after(std::chrono::seconds{15}) >> [] {});
    CHECK(stopped == 3);
  }
  five.clear();
  CHECK(answering(3) == std::map<std::string, std::string>{{place(0), first[place(0)]}});

  // Up to three: places 1 and 2 run new instances (new objects).
  REQUIRE(n.scale(spread, 3, 60s) == 3u);
  auto three = answering(9);
  REQUIRE(three.size() == 3);
  CHECK(three[place(0)] == first[place(0)]);
  CHECK(three[place(1)] != first[place(1)]);
  CHECK(three[place(2)] != first[place(2)]);

  // At most the service's count; the node stops with instances retiring.
  CHECK(n.scale(spread, 100, 0ms) == 5u);
  REQUIRE(n.scale(spread, 2, 60s) == 2u);
  n.stop();
  CHECK_FALSE(n.scale(spread, 3, 0ms).has_value());
}

TEST_CASE("a keyed service that declares a cluster-wide instance count is refused at start, "
          "naming the fault", "[runtime][scale]") {
  temp_dir dir;
  node n{config_with({test_module("bad_spread")}, dir)};
  try {
    n.start();
    FAIL("the node started");
  } catch (const startup_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("test.badspread.v1.KeyedSpread")
                           && Catch::Contains("cluster_instances is for STATELESS services only"));
  }
}
