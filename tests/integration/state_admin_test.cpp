// Operating durable state through the admin API and the shell, against a
// real node with its RocksDB store: one key's state as JSON, deleting it
// (audited in the log), the store's figures per service and for the node,
// and a backup taken while calls go on, from which `troupe node --restore`
// starts with every value acknowledged before the backup began.
#include <atomic>
#include <filesystem>
#include <thread>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;
namespace admin = troupe::admin::v1;

namespace {

constexpr const char* counter_service = "demo.counter.v1.Counter";

std::string state_path(const std::string& key, const std::string& service = counter_service) {
  return "/admin/v1/services/" + service + "/state/" + key;
}

http_response backup(std::uint16_t port, const std::string& dir) {
  return http_call(port, "POST", "/admin/v1/state:backup", R"({"dir": ")" + dir + R"("})");
}

command_result shell(const node_process& node, const std::string& command) {
  return run_command({TROUPE_BINARY, "shell", "--url", node.url(), "-c", command}, 30s);
}

/// The line of `text` that starts with `prefix`; empty when there is none.
std::string line_starting(const std::string& text, const std::string& prefix) {
  for (const auto& line : lines_of(text))
    if (line.rfind(prefix, 0) == 0)
      return line;
  return {};
}

/// Adds 1 to a key of its own, one call after the other, from a thread,
/// recording the value of every acknowledged call, until stopped.
class adder {
public:
  adder(std::uint16_t port, std::string key)
    : thread_([this, port, key = std::move(key)] {
        try {
          raw_connection conn{port};
          for (int i = 0; i < 100'000 && !stop_.load(); ++i) {
            conn.send(add_request(key, 1));
            auto r = conn.read_response();
            if (!r || r->status != 200)
              return;
            auto value = try_int_field(r->body, "value");
            if (!value)
              return;
            acknowledged_.store(*value);
          }
        } catch (const std::exception&) {
          // The node went away.
        }
      }) {
  }
  ~adder() {
    stop();
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  std::int64_t acknowledged() const {
    return acknowledged_.load();
  }

private:
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> acknowledged_{0};
  std::thread thread_;
};

} // namespace

TEST_CASE("state admin: one key's stored state with its version, 404 for what is not stored",
          "[state][admin]") {
  node_process node{{"--module", counter_module(), "--module", greeter_module()}};
  REQUIRE(counter_add(node.port(), "apples", 3) == 3);
  REQUIRE(counter_add(node.port(), "apples", 2) == 5);

  auto r = http_call(node.port(), "GET", state_path("apples"));
  require_json_ok(r);
  CHECK(string_field(r.body, "service") == counter_service);
  CHECK(string_field(r.body, "key") == "apples");
  CHECK(int_field(r.body, "version") == 2);
  CHECK(string_field(r.body, "type") == "demo.counter.v1.CounterState");
  // The state message as a call's reply is printed, its defaults shown.
  CHECK(contains(r.body, R"("state":{"value":5})"));
  REQUIRE(http_call(node.port(), "POST", "/v1/counters/zero:reset").status == 200);
  CHECK(contains(http_call(node.port(), "GET", state_path("zero")).body, R"("state":{"value":0})"));

  // A key as the route took it, percent-decoded.
  REQUIRE(http_call(node.port(), "POST", "/v1/counters/two%20words:add", R"({"delta": 4})").status
          == 200);
  auto spaced = http_call(node.port(), "GET", state_path("two%20words"));
  require_json_ok(spaced);
  CHECK(string_field(spaced.body, "key") == "two words");

  auto unknown = require_problem(http_call(node.port(), "GET", state_path("pears")), 404);
  CHECK(contains(unknown.detail, "pears"));
  require_problem(http_call(node.port(), "GET", state_path("k", "demo.nope.v1.Nope")), 404);
  auto stateless =
    require_problem(http_call(node.port(), "GET", state_path("k", "demo.greeter.v1.Greeter")), 404);
  CHECK(contains(stateless.detail, "declares no state"));
}

TEST_CASE("state admin: deleting a key's state removes it for good, answers what it was, and "
          "is logged",
          "[state][admin]") {
  temp_dir data;
  {
    node_process node{{"--module", counter_module()}, {.data_dir = data.path()}};
    REQUIRE(counter_add(node.port(), "pears", 7) == 7);
    REQUIRE(counter_add(node.port(), "plums", 1) == 1);

    auto r = http_call(node.port(), "DELETE", state_path("pears"));
    require_json_ok(r);
    CHECK(string_field(r.body, "key") == "pears");
    CHECK(int_field(r.body, "version") == 1);
    CHECK(contains(r.body, R"("state":{"value":7})"));
    require_problem(http_call(node.port(), "GET", state_path("pears")), 404);
    require_problem(http_call(node.port(), "DELETE", state_path("pears")), 404);
    CHECK(counter_get(node.port(), "plums") == 1);  // the other key is untouched

    // Audited: a warning naming the service, the key and the caller.
    REQUIRE(eventually([&] { return contains(node.stderr_text(), "state deleted"); }));
    std::string audit;
    for (const auto& line : lines_of(node.stderr_text()))
      if (contains(line, "state deleted through the admin API"))
        audit = line;
    INFO(audit);
    CHECK(contains(audit, R"("log.level":"warn")"));
    CHECK(contains(audit, R"("troupe.service":"demo.counter.v1.Counter")"));
    CHECK(contains(audit, R"("troupe.key":"pears")"));
    CHECK(contains(audit, R"("client.address":"127.0.0.1:)"));

    // The key's activation still held 7: its next write names a version that
    // is gone, is refused (503, not acknowledged), and the key starts over
    // from nothing. The deletion is never written over.
    auto next = http_call(node.port(), "POST", "/v1/counters/pears:add", R"({"delta": 1})");
    if (next.status == 503)
      next = http_call(node.port(), "POST", "/v1/counters/pears:add", R"({"delta": 1})");
    CHECK(counter_value(next) == 1);
    REQUIRE(http_call(node.port(), "DELETE", state_path("pears")).status == 200);
    REQUIRE(node.terminate() == 0);
  }
  node_process again{{"--module", counter_module()}, {.data_dir = data.path()}};
  require_problem(http_call(again.port(), "GET", state_path("pears")), 404);
  CHECK(counter_get(again.port(), "pears") == 0);
  CHECK(counter_get(again.port(), "plums") == 1);
}

TEST_CASE("state admin: the node and each stateful service show the store's figures",
          "[state][admin]") {
  node_process node{{"--module", counter_module(), "--module", greeter_module()}};
  for (int k = 0; k < 20; ++k)
    REQUIRE(counter_add(node.port(), "k" + std::to_string(k), 1) == 1);

  auto counter = admin_service(node.port(), counter_service);
  REQUIRE(counter.has_state());
  CHECK(counter.state().type() == "demo.counter.v1.CounterState");
  CHECK(counter.state().durability() == "SYNC");
  CHECK(counter.state().keys() > 0);
  CHECK(counter.state().memtable_bytes() > 0);
  CHECK_FALSE(admin_service(node.port(), "demo.greeter.v1.Greeter").has_state());
  // RocksDB's own figures are there, also when they are zero.
  auto raw = http_call(node.port(), "GET", "/admin/v1/services/" + std::string{counter_service});
  require_json_ok(raw);
  for (const char* figure : {"keys", "diskBytes", "liveDataBytes", "memtableBytes",
                             "pendingCompactionBytes", "stallStops", "stallSlowdowns"})
    CHECK(contains(raw.body, "\"" + std::string{figure} + "\":"));

  auto info = admin_get<admin::NodeInfo>(node.port(), "/admin/v1/node");
  REQUIRE(info.has_state_store());
  const auto& store = info.state_store();
  CHECK(store.engine() == "rocksdb");
  CHECK(store.directory() == info.data_dir() + "/state");
  CHECK(store.disk_bytes() > 0);
  CHECK(store.writes_committed() >= 20);
  CHECK(store.wal_syncs() > 0);
  CHECK(store.writes_failed() == 0);
  CHECK_FALSE(store.backup_running());

  // A backup flushes what was written into table files: bytes on disk.
  temp_dir backups;
  REQUIRE(backup(node.port(), backups.path() + "/one").status == 200);
  auto flushed = admin_service(node.port(), counter_service);
  CHECK(flushed.state().disk_bytes() > 0);
  CHECK(flushed.state().keys() > 0);
  auto listed = admin_get<admin::ServiceList>(node.port(), "/admin/v1/services");
  bool shown = false;
  for (const auto& service : listed.services())
    if (service.name() == counter_service)
      shown = service.has_state() && service.state().disk_bytes() > 0;
  CHECK(shown);
}

TEST_CASE("state admin: a backup taken while calls go on restores every value acknowledged "
          "before it began",
          "[state][admin][backup]") {
  temp_dir backups;
  const auto dir = backups.path() + "/backup";
  constexpr int writers = 4;
  std::vector<std::int64_t> before(writers), after(writers);
  {
    node_process node{{"--module", counter_module()}};
    std::vector<std::unique_ptr<adder>> adders;
    for (int w = 0; w < writers; ++w)
      adders.push_back(std::make_unique<adder>(node.port(), "b" + std::to_string(w)));
    REQUIRE(eventually([&] {
      for (auto& a : adders)
        if (a->acknowledged() < 20)
          return false;
      return true;
    }, 200, 50ms));
    for (int w = 0; w < writers; ++w)
      before[w] = adders[w]->acknowledged();
    auto r = backup(node.port(), dir);
    for (int w = 0; w < writers; ++w)
      after[w] = adders[w]->acknowledged();
    require_json_ok(r);
    CHECK(string_field(r.body, "dir") == dir);
    CHECK(int_field(r.body, "bytes") > 0);
    // The calls went on while it was written.
    REQUIRE(eventually([&] { return adders[0]->acknowledged() > after[0] + 10; }, 200, 50ms));
    for (auto& a : adders)
      a->stop();

    // Refusals: a directory that holds something, a relative path.
    auto taken = require_problem(backup(node.port(), dir), 409);
    CHECK(contains(taken.detail, dir));
    require_problem(backup(node.port(), "relative/dir"), 400);
    require_problem(http_call(node.port(), "POST", "/admin/v1/state:backup", "not json"), 400);
    REQUIRE(node.terminate() == 0);
  }
  REQUIRE(std::filesystem::exists(dir + "/FORMAT"));

  node_process restored{{"--module", counter_module(), "--restore", dir}};
  for (int w = 0; w < writers; ++w) {
    auto key = "b" + std::to_string(w);
    auto value = counter_get(restored.port(), key);
    INFO(key << ": acknowledged " << before[w] << " before the backup, " << after[w]
              << " when it was answered; restored " << value);
    // Everything acknowledged before it began is in it; nothing acknowledged
    // after it was answered is (one call per writer may have been in flight).
    CHECK(value >= before[w]);
    CHECK(value <= after[w] + 1);
  }
  CHECK(contains(restored.stderr_text(), "state restored from a checkpoint"));
}

TEST_CASE("state admin: --restore into a data directory that holds state stops the start with "
          "one line and changes nothing",
          "[state][admin][backup]") {
  temp_dir data;
  temp_dir backups;
  const auto dir = backups.path() + "/backup";
  {
    node_process node{{"--module", counter_module()}, {.data_dir = data.path()}};
    REQUIRE(counter_add(node.port(), "apples", 3) == 3);
    REQUIRE(backup(node.port(), dir).status == 200);
    REQUIRE(counter_add(node.port(), "apples", 4) == 7);
    REQUIRE(node.terminate() == 0);
  }
  auto refused = run_command({TROUPE_BINARY, "node", "--http", "127.0.0.1:0", "--data",
                              data.path(), "--module", counter_module(), "--restore", dir},
                             20s);
  INFO("stderr: " << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK_FALSE(contains(refused.out, "ready"));
  auto lines = lines_of(refused.err);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back() == "troupe node: cannot restore from " + dir + ": refusing to overwrite "
                          + data.path() + "/state, which is not empty");
  // The data directory and the checkpoint are as they were.
  node_process again{{"--module", counter_module()}, {.data_dir = data.path()}};
  CHECK(counter_get(again.port(), "apples") == 7);
  temp_dir fresh;
  node_process restored{{"--module", counter_module(), "--restore", dir},
                        {.data_dir = fresh.path()}};
  CHECK(counter_get(restored.port(), "apples") == 3);
}

TEST_CASE("state admin: the shell shows, deletes and backs up state", "[state][admin][shell]") {
  node_process node{{"--module", counter_module(), "--module", greeter_module()}};
  REQUIRE(counter_add(node.port(), "apples", 5) == 5);

  SECTION("state prints the key's state as JSON with its version") {
    auto r = shell(node, "state counter apples");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(contains(line_starting(r.out, "Service:"), counter_service));
    CHECK(contains(line_starting(r.out, "Key:"), "apples"));
    CHECK(contains(line_starting(r.out, "Version:"), "1"));
    CHECK(contains(line_starting(r.out, "Type:"), "demo.counter.v1.CounterState"));
    CHECK(contains(r.out, "{\n  \"value\": 5\n}\n"));

    auto none = shell(node, "state counter nope");
    CHECK(none.exit_code == 1);
    CHECK(contains(none.err, "error: no state stored for key 'nope'"));
  }

  SECTION("delete-state removes it") {
    auto r = shell(node, "delete-state Counter apples");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.out, "deleted the state of key 'apples' of demo.counter.v1.Counter (version 1)"));
    CHECK(contains(r.out, "\"value\": 5"));
    CHECK(shell(node, "state counter apples").exit_code == 1);
    CHECK(shell(node, "delete-state counter apples").exit_code == 1);
  }

  SECTION("backup writes a checkpoint on the node's machine") {
    temp_dir backups;
    auto dir = backups.path() + "/from-shell";
    auto r = shell(node, "backup " + dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.out, "backup written to " + dir + ": "));
    CHECK(std::filesystem::exists(dir + "/FORMAT"));
    CHECK(shell(node, "backup " + dir).exit_code == 1);  // not empty now
    auto relative = shell(node, "backup from-shell");
    CHECK(relative.exit_code == 2);
    CHECK(contains(relative.err, "absolute path"));
  }

  SECTION("services, describe and node show the store") {
    auto services = shell(node, "services");
    REQUIRE(services.exit_code == 0);
    CHECK(contains(line_starting(services.out, "NAME "), "STORED KEYS"));
    CHECK(contains(line_starting(services.out, "NAME "), "ON DISK"));
    auto counter_words = line_starting(services.out, "demo.counter.v1.Counter ");
    auto greeter_words = line_starting(services.out, "demo.greeter.v1.Greeter ");
    CHECK(contains(counter_words, " B"));  // bytes on disk, in some unit
    CHECK(greeter_words.ends_with("-        -"));

    auto describe = shell(node, "describe counter");
    REQUIRE(describe.exit_code == 0);
    CHECK(contains(line_starting(describe.out, "State:"), "demo.counter.v1.CounterState, SYNC"));
    CHECK(contains(line_starting(describe.out, "Stored keys:"), "estimated"));
    CHECK(contains(line_starting(describe.out, "On disk:"), "in tables"));
    CHECK(contains(line_starting(describe.out, "Compaction:"), "pending"));
    CHECK(contains(line_starting(describe.out, "Write stalls:"), "0 stops, 0 slowdowns"));

    auto shown = shell(node, "node");
    REQUIRE(shown.exit_code == 0);
    CHECK(contains(line_starting(shown.out, "State store:"), "rocksdb in "));
    CHECK(contains(line_starting(shown.out, "State writes:"), "1 committed, 0 failed"));
  }
}
