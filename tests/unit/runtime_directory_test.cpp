// Where calls go: published snapshots read without locks while they change,
// and a node whose calls follow the directory the program publishes.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "troupe/runtime/directory.hpp"
#include "troupe/runtime/node.hpp"
#include "troupe/runtime/published.hpp"

using namespace std::chrono_literals;
using troupe::status;
using troupe::status_code;
using troupe::runtime::call_target;
using troupe::runtime::directory;
using troupe::runtime::envelope;
using troupe::runtime::node;
using troupe::runtime::node_config;
using troupe::runtime::published;
using troupe::runtime::reply_envelope;
using troupe::test::temp_dir;

namespace {

/// Two numbers written together: a reader that ever saw them differ read a
/// snapshot that was changed in place.
struct pair_snapshot {
  explicit pair_snapshot(int v) : a(v), b(v) {
  }
  int a;
  int b;
};

} // namespace

TEST_CASE("a published value's reader sees each publish at its next read",
          "[runtime][directory]") {
  published<pair_snapshot> value{std::make_shared<pair_snapshot>(1)};
  published<pair_snapshot>::reader view{value};
  CHECK(view.get().a == 1);

  std::weak_ptr<const pair_snapshot> first = value.load();
  value.publish(std::make_shared<pair_snapshot>(2));
  // The reader still holds the snapshot it read; nothing else does.
  CHECK_FALSE(first.expired());
  CHECK(view.get().a == 2);
  CHECK(first.expired());
  CHECK(value.version() == 1);

  SECTION("a released reader keeps nothing alive and reads the current value again") {
    std::weak_ptr<const pair_snapshot> second = value.load();
    view.release();
    value.publish(std::make_shared<pair_snapshot>(3));
    CHECK(second.expired());
    CHECK(view.get().a == 3);
  }
}

TEST_CASE("readers on many threads see whole snapshots while a writer publishes",
          "[runtime][directory]") {
  published<pair_snapshot> value{std::make_shared<pair_snapshot>(0)};
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::atomic<int> went_back{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      published<pair_snapshot>::reader view{value};
      int last = 0;
      for (int i = 0; i < 2'000'000 && !stop.load(); ++i) {
        const auto& s = view.get();
        if (s.a != s.b)
          ++torn;
        if (s.a < last)
          ++went_back;
        last = s.a;
      }
    });
  for (int v = 1; v <= 2'000; ++v)
    value.publish(std::make_shared<pair_snapshot>(v));
  stop = true;
  for (auto& r : readers)
    r.join();
  CHECK(torn.load() == 0);
  CHECK(went_back.load() == 0);
  published<pair_snapshot>::reader late{value};
  CHECK(late.get().a == 2'000);
}

namespace {

constexpr const char* counter_service = "demo.counter.v1.Counter";
constexpr const char* greeter_service = "demo.greeter.v1.Greeter";

std::string module_path(const char* name) {
  return std::string{TROUPE_EXAMPLES_DIR} + "/lib" + name + ".so";
}

/// The local directory, plus "alias" for the counter, or with the counter
/// refused: what a cluster's directory does when a key moved elsewhere.
class rerouting_directory : public directory {
public:
  rerouting_directory(std::shared_ptr<const directory> local, bool refuse_counter)
    : local_(std::move(local)), refuse_counter_(refuse_counter) {
  }

  call_target resolve(std::string_view service, std::string_view key) const override {
    if (service == "alias")
      return local_->resolve(counter_service, key);
    if (refuse_counter_ && service == counter_service)
      return {status{status_code::unavailable, "the counter moved"}, {}};
    return local_->resolve(service, key);
  }

private:
  std::shared_ptr<const directory> local_;
  bool refuse_counter_;
};

envelope request(std::string method, std::string key, std::string payload) {
  envelope env;
  env.method = std::move(method);
  env.key = std::move(key);
  env.payload = std::move(payload);
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + 10s).time_since_epoch())
                           .count();
  return env;
}

/// Waits (bounded) for the reply of a call made by `make_call(done)`.
template <class MakeCall>
reply_envelope reply_of(MakeCall make_call) {
  auto done = std::make_shared<std::promise<reply_envelope>>();
  auto result = done->get_future();
  make_call([done](reply_envelope r) { done->set_value(std::move(r)); });
  REQUIRE(result.wait_for(15s) == std::future_status::ready);
  return result.get();
}

/// A serialized demo.counter.v1.AddRequest{key, delta} / greeter request:
/// field 1 a string, field 2 an int32.
std::string add_request(const std::string& key, int delta) {
  std::string bytes;
  bytes += '\x0a';
  bytes += static_cast<char>(key.size());
  bytes += key;
  bytes += '\x10';
  bytes += static_cast<char>(delta);
  return bytes;
}

} // namespace

TEST_CASE("a node's calls follow the directory the program publishes",
          "[runtime][directory]") {
  temp_dir data;
  node_config cfg;
  cfg.data_dir = data.path();
  cfg.modules = {module_path("counter"), module_path("greeter")};
  cfg.scheduler_threads = 2;
  node n{cfg};
  n.start();
  auto caller = n.make_caller();
  auto through_node = [&](const char* service, envelope env) {
    return reply_of([&](auto done) { n.call(service, std::move(env), done); });
  };
  auto through_caller = [&](const char* service, envelope env) {
    return reply_of([&](auto done) { caller.call(service, std::move(env), done); });
  };

  // The local directory knows no "alias".
  CHECK(through_node("alias", request("Add", "k", add_request("k", 1))).code
        == static_cast<int>(status_code::unavailable));
  CHECK(through_caller("alias", request("Add", "k", add_request("k", 1))).code
        == static_cast<int>(status_code::unavailable));

  n.publish_directory(std::make_shared<rerouting_directory>(n.local_directory(), false));
  CHECK(through_node("alias", request("Add", "k", add_request("k", 2))).code == 0);
  // A caller made before the publish picks it up at its next call.
  CHECK(through_caller("alias", request("Add", "k", add_request("k", 3))).code == 0);

  // A handler's own calls (the greeter calling the counter) resolve through
  // the published directory too.
  n.publish_directory(std::make_shared<rerouting_directory>(n.local_directory(), true));
  auto refused = through_caller(greeter_service, request("GreetCounted", "", "\x0a\x03" "Ada"));
  CHECK(refused.code == static_cast<int>(status_code::unavailable));
  CHECK(refused.message == "the counter moved");

  n.publish_directory(n.local_directory());
  auto counted = through_caller(greeter_service, request("GreetCounted", "", "\x0a\x03" "Ada"));
  CHECK(counted.code == 0);
  n.stop();
}
