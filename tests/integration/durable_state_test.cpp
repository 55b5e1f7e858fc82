// Durable state on one node, seen from outside: a keyed actor's declared state
// is in the node's RocksDB store under --data, so it outlives a restart and
// kill -9 of the node at any moment (an acknowledged write is never lost, and
// none is counted twice), and a data directory the node cannot use (damaged,
// unwritable, in use, written by another version, a file where its state
// directory belongs), or a module whose state message cannot read what is
// stored, stops the start with one line, exit status 1, and is left as it
// was. A full file system answers the writes it refuses 503 and keeps what
// was acknowledged, and the node writes again by itself once there is room.
// Uses examples/counter and tests/modules/ledger (+ ledger_incompatible).
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

/// The last line of the node's stderr: the one-line start error.
std::string last_line(const std::string& text) {
  auto lines = lines_of(text);
  return lines.empty() ? std::string{} : lines.back();
}

command_result start_node(const std::string& data, const std::vector<std::string>& args) {
  std::vector<std::string> argv{TROUPE_BINARY, "node", "--http", "127.0.0.1:0", "--data", data};
  argv.insert(argv.end(), args.begin(), args.end());
  // A node that starts runs until killed: the time limit ends it.
  return run_command(argv, 20s);
}

/// A tmpfs of `size` mounted at `at` (created if missing) for one test. Only
/// root may mount: elsewhere mounted() is false. Unmounted (lazily, so even
/// while something still holds a file in it) when it goes, on every path out
/// of the test; declare it after the temp_dir it lives in and before the
/// nodes that use it.
class tmpfs_mount {
public:
  tmpfs_mount(const std::string& at, const std::string& size) : at_(at) {
    std::filesystem::create_directories(at);
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~tmpfs_mount() {
    if (mounted_)
      ::umount2(at_.c_str(), MNT_DETACH);
  }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  bool mounted() const noexcept {
    return mounted_;
  }
  /// Makes it read-only, or writable again; true when the remount worked.
  bool remount(bool read_only) {
    unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return ::mount("tmpfs", at_.c_str(), "tmpfs", flags, nullptr) == 0;
  }

private:
  std::string at_;
  bool mounted_ = false;
};

} // namespace

TEST_CASE("durable state: a counter's value outlives a restart of the node",
          "[state][durable]") {
  temp_dir data;
  {
    node_process node{{"--module", counter_module()}, {.data_dir = data.path()}};
    REQUIRE(counter_add(node.port(), "apples", 3) == 3);
    REQUIRE(counter_add(node.port(), "pears", 5) == 5);
    REQUIRE(node.terminate() == 0);
  }
  node_process again{{"--module", counter_module()}, {.data_dir = data.path()}};
  CHECK(counter_get(again.port(), "apples") == 3);
  CHECK(counter_add(again.port(), "pears", 1) == 6);
  CHECK(counter_get(again.port(), "nothing-yet") == 0);
}

namespace {

/// One client of the kill -9 checker: adds 1 to a key of its own, one call
/// after the other, until the node dies under it. It knows exactly what the
/// node acknowledged, and whether one call was left without an answer.
struct increment_client {
  std::string key;
  std::int64_t start = 0;                 // the stored value when the round began
  std::atomic<std::int64_t> acknowledged{0};  // the value of the last 200
  std::atomic<bool> unanswered{false};    // a call was sent and got no answer
  std::string fault;                      // what the node did wrong, if anything

  void run(std::uint16_t port, const std::atomic<bool>& killed) {
    acknowledged = start;
    try {
      raw_connection conn{port};
      for (int i = 0; i < 100'000 && !killed.load(); ++i) {
        unanswered = true;
        conn.send(add_request(key, 1));
        auto r = conn.read_response();
        if (!r)
          return;  // the node died: this call may or may not have counted
        if (r->status != 200) {
          return;  // refused (503 while the node went down): may have counted too
        }
        auto value = try_int_field(r->body, "value");
        if (!value) {
          fault = "an answer without a value: " + r->body;
          return;
        }
        // Counted exactly once, on top of everything before.
        if (*value != acknowledged.load() + 1) {
          fault = "acknowledged " + std::to_string(*value) + " after "
                  + std::to_string(acknowledged.load());
          return;
        }
        acknowledged = *value;
        unanswered = false;
      }
    } catch (const std::exception&) {
      // The connection broke when the node died, maybe mid-call.
    }
  }
};

} // namespace

TEST_CASE("durable state: kill -9 at 20 random moments loses no acknowledged increment and "
          "counts none twice",
          "[state][durable][kill]") {
  // The seed is printed, and TROUPE_KILL_SEED replays a run's moments.
  std::uint64_t seed = std::random_device{}();
  if (const char* given = std::getenv("TROUPE_KILL_SEED"))
    seed = std::strtoull(given, nullptr, 10);
  std::printf("kill -9 checker: seed %llu (TROUPE_KILL_SEED=%llu replays it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  INFO("seed " << seed);
  std::mt19937_64 random{seed};

  temp_dir data;
  constexpr int rounds = 20;
  constexpr int clients = 4;
  // What each key may hold after a kill: what was acknowledged, plus the
  // one call that got no answer, which the node may or may not have stored.
  std::vector<std::int64_t> at_least(clients, 0), at_most(clients, 0);
  auto check_stored = [&](std::uint16_t port, int round, std::vector<std::int64_t>& stored) {
    for (int c = 0; c < clients; ++c) {
      auto key = "c" + std::to_string(c);
      stored[c] = counter_get(port, key);
      INFO("after round " << round << ", " << key << ": acknowledged " << at_least[c]
                          << ", at most " << at_most[c] << " sent, stored " << stored[c]);
      CHECK(stored[c] >= at_least[c]);
      CHECK(stored[c] <= at_most[c]);
    }
  };
  std::vector<std::int64_t> stored(clients, 0);
  std::int64_t acknowledged_in_all = 0;
  for (int round = 1; round <= rounds; ++round) {
    node_process node{{"--module", counter_module()}, {.data_dir = data.path()}};
    check_stored(node.port(), round - 1, stored);

    std::vector<std::unique_ptr<increment_client>> running;
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      running.push_back(std::make_unique<increment_client>());
      running.back()->key = "c" + std::to_string(c);
      running.back()->start = stored[c];
    }
    for (auto& client : running)
      threads.emplace_back([&node, &killed, &client = *client] { client.run(node.port(), killed); });
    // A moment from the first calls to well into the load.
    auto moment = std::chrono::microseconds{
      std::uniform_int_distribution<std::int64_t>{0, 400'000}(random)};
    std::this_thread::sleep_for(moment);
    REQUIRE(node.kill_now() == 128 + SIGKILL);
    killed = true;
    for (auto& t : threads)
      t.join();
    for (int c = 0; c < clients; ++c) {
      auto& client = *running[c];
      INFO("round " << round << " (killed after " << moment.count() << " us), " << client.key);
      CHECK(client.fault.empty());
      at_least[c] = client.acknowledged;
      at_most[c] = client.acknowledged + (client.unanswered ? 1 : 0);
      acknowledged_in_all += client.acknowledged - client.start;
    }
  }
  node_process last{{"--module", counter_module()}, {.data_dir = data.path()}};
  check_stored(last.port(), rounds, stored);
  // The rounds did put the store under load at the moments of the kills.
  CHECK(acknowledged_in_all > rounds);
}

TEST_CASE("durable state: a data directory the node cannot write stops the start with one "
          "line naming it",
          "[state][durable]") {
  temp_dir dir;
  auto data = dir.path() + "/data";
  auto state = data + "/state";
  if (::geteuid() != 0) {
    {
      node_process node{{"--module", counter_module()}, {.data_dir = data}};
      REQUIRE(counter_add(node.port(), "apples", 3) == 3);
      REQUIRE(node.terminate() == 0);
    }
    std::filesystem::permissions(state, std::filesystem::perms::owner_read
                                          | std::filesystem::perms::owner_exec);
    auto result = start_node(data, {"--module", counter_module()});
    std::filesystem::permissions(state, std::filesystem::perms::owner_all);
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 1);
    CHECK(last_line(result.err) == "troupe node: state store " + state + " is not writable: "
                                     "Permission denied");
    return;
  }
  // Root writes through permissions: DATA/state on a tmpfs mounted read-only.
  tmpfs_mount fs{state, "32m"};
  if (!fs.mounted()) {
    WARN("cannot mount a tmpfs here: the unwritable case is not checked");
    return;
  }
  {
    node_process node{{"--module", counter_module()}, {.data_dir = data}};
    REQUIRE(counter_add(node.port(), "apples", 3) == 3);
    REQUIRE(node.terminate() == 0);
  }
  REQUIRE(fs.remount(true));
  auto result = start_node(data, {"--module", counter_module()});
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 1);
  CHECK_FALSE(contains(result.out, "ready"));
  CHECK(last_line(result.err)
        == "troupe node: state store " + state + " is not writable: Read-only file system");

  // Writable again, it starts with everything in it.
  REQUIRE(fs.remount(false));
  node_process again{{"--module", counter_module()}, {.data_dir = data}};
  CHECK(counter_get(again.port(), "apples") == 3);
}

namespace {

/// Writes `file` until its file system has no room left, at most `bound`
/// bytes; true when a write met ENOSPC (the file system is full).
bool fill_file_system(const std::string& file, std::size_t bound) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return false;
  const std::string chunk(std::size_t{64} << 10, 'f');
  bool full = false;
  for (std::size_t written = 0; written < bound;) {
    auto n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0) {
      full = errno == ENOSPC;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return full;
}

/// Whether the store itself (the admin API reads it, not the actor) holds
/// `value` as the counter `key`'s state.
bool stored_value_is(std::uint16_t port, const std::string& key, std::int64_t value) {
  auto r = http_call(port, "GET", "/admin/v1/services/demo.counter.v1.Counter/state/" + key);
  INFO("stored state of " << key << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return contains(r.body, R"("state":{"value":)" + std::to_string(value) + "}");
}

} // namespace

TEST_CASE("durable state: a full disk answers the writes it refuses 503, keeps every "
          "acknowledged value, and the node writes again by itself once there is room",
          "[state][durable][full]") {
  temp_dir dir;
  const auto data = dir.path() + "/data";
  // 16 MiB: RocksDB starts in it (its MANIFEST alone takes 4 MiB) with room
  // left to fill.
  tmpfs_mount fs{data, "16m"};
  if (!fs.mounted()) {
    WARN("cannot mount a tmpfs here (not root?): the full-disk case is not checked");
    return;
  }
  const auto filler = data + "/filler";
  std::map<std::string, std::int64_t> acknowledged;
  auto add = [&](std::uint16_t port, const std::string& key, std::int64_t delta) {
    auto r = http_call(port, "POST", "/v1/counters/" + key + ":add",
                       R"({"delta": )" + std::to_string(delta) + "}");
    if (r.status == 200) {
      auto value = int_field(r.body, "value");
      INFO(key << ": acknowledged " << acknowledged[key] << " before, +" << delta);
      CHECK(value == acknowledged[key] + delta);
      acknowledged[key] = value;
    }
    return r;
  };
  auto check_acknowledged = [&](std::uint16_t port) {
    for (const auto& [key, value] : acknowledged) {
      INFO(key << ": acknowledged " << value);
      CHECK(counter_get(port, key) == value);
      CHECK(stored_value_is(port, key, value));
    }
  };
  {
    node_process node{{"--module", counter_module()}, {.data_dir = data}};
    constexpr int keys = 40;
    for (int i = 0; i < keys; ++i)
      REQUIRE(add(node.port(), "before-" + std::to_string(i), i + 1).status == 200);

    REQUIRE(fill_file_system(filler, std::size_t{64} << 20));
    // The pages RocksDB's log already has take some small writes yet: write
    // fresh keys until the disk refuses one.
    std::string refused_key;
    http_response refused;
    for (int i = 0; i < 10'000 && refused_key.empty(); ++i) {
      auto key = "during-" + std::to_string(i);
      auto r = add(node.port(), key, 1);
      if (r.status != 200) {
        refused_key = key;
        refused = r;
      }
    }
    INFO("increments acknowledged on the full disk: " << acknowledged.size() - keys);
    REQUIRE_FALSE(refused_key.empty());
    require_problem(refused, 503);
    CHECK_FALSE(refused.header("retry-after").empty());
    // The refused increment is not counted, nor stored.
    CHECK(counter_get(node.port(), refused_key) == 0);
    require_problem(http_call(node.port(), "GET",
                              "/admin/v1/services/demo.counter.v1.Counter/state/" + refused_key),
                    404);

    // While the disk is full every write is refused the same way, and the
    // node goes on answering.
    for (int i = 0; i < keys; i += 8) {
      auto r = add(node.port(), "before-" + std::to_string(i), 100);
      require_problem(r, 503);
      CHECK_FALSE(r.header("retry-after").empty());
    }
    CHECK(http_call(node.port(), "GET", "/healthz").status == 200);
    check_acknowledged(node.port());

    // Room again: the node heals without a restart; until then each try is
    // refused with 503 and not counted.
    std::filesystem::remove(filler);
    int other_status = 0;
    bool healed = eventually([&] {
      auto r = add(node.port(), "healed", 1);
      if (r.status != 200 && r.status != 503)
        other_status = r.status;
      return r.status == 200 || other_status != 0;
    }, 300, 100ms);
    CHECK(other_status == 0);
    REQUIRE(healed);
    CHECK(acknowledged["healed"] == 1);
    for (int i = 0; i < keys; ++i)
      REQUIRE(add(node.port(), "before-" + std::to_string(i), 1000).status == 200);
    REQUIRE(add(node.port(), refused_key, 1).status == 200);
    check_acknowledged(node.port());
    REQUIRE(node.terminate() == 0);
  }
  // Everything acknowledged, before, during and after the full disk, is in
  // the store a new node opens.
  node_process again{{"--module", counter_module()}, {.data_dir = data}};
  check_acknowledged(again.port());
}

TEST_CASE("durable state: a data directory in use by another node stops the start with one "
          "line naming it",
          "[state][durable]") {
  temp_dir data;
  node_process first{{"--module", counter_module()}, {.data_dir = data.path()}};
  REQUIRE(counter_add(first.port(), "apples", 3) == 3);
  auto result = start_node(data.path(), {"--module", counter_module()});
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 1);
  CHECK(last_line(result.err)
        == "troupe node: data directory " + data.path() + " is in use by another node");
  // The first node and its state are untouched.
  CHECK(counter_add(first.port(), "apples", 1) == 4);
}

TEST_CASE("durable state: a damaged state store stops the start with one line and is left "
          "as it was",
          "[state][durable]") {
  temp_dir data;
  {
    node_process node{{"--module", counter_module()}, {.data_dir = data.path()}};
    REQUIRE(counter_add(node.port(), "apples", 3) == 3);
    REQUIRE(node.terminate() == 0);
  }
  auto current = data.path() + "/state/CURRENT";
  REQUIRE(std::filesystem::exists(current));
  std::string intact;
  {
    std::ifstream in{current};
    std::getline(in, intact);
  }
  { std::ofstream{current, std::ios::trunc} << "MANIFEST-999999\n"; }

  auto result = start_node(data.path(), {"--module", counter_module()});
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 1);
  CHECK_FALSE(contains(result.out, "ready"));
  auto line = last_line(result.err);
  CHECK(contains(line, "troupe node:"));
  CHECK(contains(line, data.path() + "/state"));
  // Not wiped, not re-initialised.
  {
    std::ifstream in{current};
    std::string text;
    std::getline(in, text);
    CHECK(text == "MANIFEST-999999");
  }

  // Repaired, it starts with everything in it.
  { std::ofstream{current, std::ios::trunc} << intact << "\n"; }
  node_process again{{"--module", counter_module()}, {.data_dir = data.path()}};
  CHECK(counter_get(again.port(), "apples") == 3);
}

TEST_CASE("durable state: a store written by another version of Troupe stops the start with "
          "one line and is left as it was",
          "[state][durable]") {
  temp_dir data;
  {
    node_process node{{"--module", counter_module()}, {.data_dir = data.path()}};
    REQUIRE(counter_add(node.port(), "apples", 3) == 3);
    REQUIRE(node.terminate() == 0);
  }
  const auto state = data.path() + "/state";
  const auto format = state + "/FORMAT";
  std::string ours;
  {
    std::ifstream in{format};
    REQUIRE(in);
    ours.assign(std::istreambuf_iterator<char>{in}, {});
  }
  REQUIRE(ours.starts_with("troupe state store\nformat "));
  { std::ofstream{format, std::ios::trunc} << "troupe state store\nformat 99\n"; }

  auto result = start_node(data.path(), {"--module", counter_module()});
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 1);
  CHECK_FALSE(contains(result.out, "ready"));
  auto line = last_line(result.err);
  CHECK(line.starts_with("troupe node: state store " + state + " has format 99, this build reads "
                         "format "));
  CHECK(line.ends_with("(written by another version of Troupe); refusing to use it"));
  // Nothing rewritten: the other version's marker and the data are there.
  {
    std::ifstream in{format};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    CHECK(text == "troupe state store\nformat 99\n");
  }
  CHECK(std::filesystem::exists(state + "/CURRENT"));

  { std::ofstream{format, std::ios::trunc} << ours; }
  node_process again{{"--module", counter_module()}, {.data_dir = data.path()}};
  CHECK(counter_get(again.port(), "apples") == 3);
}

TEST_CASE("durable state: a file where the state directory belongs stops the start with one "
          "line and is left as it was",
          "[state][durable]") {
  temp_dir data;
  const auto state = data.path() + "/state";
  { std::ofstream{state} << "an operator's notes"; }
  auto result = start_node(data.path(), {"--module", counter_module()});
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 1);
  CHECK_FALSE(contains(result.out, "ready"));
  CHECK(last_line(result.err) == "troupe node: state store " + state + " is not a directory");
  std::ifstream in{state};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  CHECK(text == "an operator's notes");
}

TEST_CASE("durable state: a module whose state message cannot read what is stored is "
          "refused at start, naming the field",
          "[state][durable]") {
  temp_dir data;
  {
    node_process node{{"--module", test_module("ledger")}, {.data_dir = data.path()}};
    auto r = http_call(node.port(), "POST", "/v1/ledgers/a:post", R"({"amount": "5"})");
    REQUIRE(r.status == 200);
    REQUIRE(node.terminate() == 0);
  }
  auto result = start_node(data.path(), {"--module", test_module("ledger_incompatible")});
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 1);
  auto line = last_line(result.err);
  CHECK(contains(line, "test.ledger.v1.Ledger"));
  CHECK(contains(line, "balance"));

  // The data is intact: the real module still reads it.
  node_process again{{"--module", test_module("ledger")}, {.data_dir = data.path()}};
  auto r = http_call(again.port(), "GET", "/v1/ledgers/a");
  REQUIRE(r.status == 200);
  CHECK(int_field(r.body, "balance") == 5);
}
