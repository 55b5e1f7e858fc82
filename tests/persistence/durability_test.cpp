// When the rocksdb store acknowledges a write: SYNC after the WAL sync that
// covers it, shared by every write of a round (group commit); BATCHED at
// once, synced within its interval. And what survives: a close and reopen,
// and kill -9 of a process that got acknowledgements.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>

#include "fault_fs.hpp"
#include "store_support.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status_code;

TEST_CASE("a SYNC write is acknowledged only after the WAL sync that covers it",
          "[persistence][durability]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());

  sw.wal_sync_gate.close();
  write_result r;
  store.save("svc", "k", 0, "v", r.callback());
  // The writer waits inside the sync: the write is in the WAL, not yet on
  // stable storage, and its caller has heard nothing.
  REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));
  CHECK_FALSE(r.ready());
  sw.wal_sync_gate.open();
  CHECK(r.get().is_ok());
  CHECK(load(store, "svc", "k").version == 1);
}

TEST_CASE("SYNC writes in flight together share one WAL sync (group commit)",
          "[persistence][durability]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(save(store, "svc", "warm-up", 0, "v").is_ok());

  auto syncs_before = sw.wal_syncs.load();
  auto rounds_before = store.figures().commit_rounds;
  sw.wal_sync_gate.close();
  std::vector<write_result> writes(64);
  store.save("svc", "key-0", 0, "v", writes[0].callback());
  REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));
  // 63 more clients write while the first one's sync is under way.
  for (int i = 1; i < 64; ++i)
    store.save("svc", "key-" + std::to_string(i), 0, "v", writes[i].callback());
  REQUIRE(eventually([&] { return store.figures().pending_writes == 63; }));
  for (auto& w : writes)
    CHECK_FALSE(w.ready());
  sw.wal_sync_gate.open();
  for (auto& w : writes)
    CHECK(w.get().is_ok());

  // One sync for the first write, one for the 63 that waited behind it.
  CHECK(sw.wal_syncs.load() - syncs_before == 2);
  CHECK(store.figures().commit_rounds - rounds_before == 2);
}

TEST_CASE("a BATCHED write is acknowledged before its sync and synced within the interval",
          "[persistence][durability]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("batched", batched_namespace(std::chrono::milliseconds{50})).is_ok());

  sw.wal_sync_gate.close();
  write_result r;
  store.save("batched", "k", 0, "v", r.callback());
  // Acknowledged while every sync is held: it did not wait for one.
  CHECK(r.get().is_ok());
  CHECK(load(store, "batched", "k").version == 1);
  // With nothing else written, the writer syncs it on its own.
  REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));
  sw.wal_sync_gate.open();
  REQUIRE(eventually([&] { return sw.wal_syncs.load() >= 1; }));
}

TEST_CASE("closing the store syncs BATCHED writes and a reopened store has every write",
          "[persistence][durability]") {
  temp_dir dir;
  fault_switches sw;
  int syncs_before_close = 0;
  {
    rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
    release_at_exit release{sw};
    REQUIRE(store.open_namespace("sync", sync_namespace()).is_ok());
    REQUIRE(store.open_namespace("batched", batched_namespace(std::chrono::hours{1})).is_ok());
    REQUIRE(save(store, "sync", "k", 0, "s1").is_ok());
    REQUIRE(save(store, "sync", "k", 1, "s2").is_ok());
    syncs_before_close = sw.wal_syncs.load();
    REQUIRE(save(store, "batched", "k", 0, "b1").is_ok());
    REQUIRE(save(store, "batched", "gone", 0, "b1").is_ok());
    REQUIRE(erase(store, "batched", "gone").is_ok());
    CHECK(sw.wal_syncs.load() == syncs_before_close);  // an hour's interval: not yet
  }
  CHECK(sw.wal_syncs.load() > syncs_before_close);  // the close synced them

  rocksdb_store reopened{dir.path()};
  CHECK(reopened.namespaces() == std::vector<std::string>{"batched", "sync"});
  auto s = load(reopened, "sync", "k");
  CHECK(s.version == 2);
  CHECK(s.bytes == "s2");
  CHECK(load(reopened, "batched", "k").bytes == "b1");
  CHECK(load(reopened, "batched", "gone").version == 0);
  // A namespace found on disk is writable once opened again.
  REQUIRE(reopened.open_namespace("sync", sync_namespace()).is_ok());
  CHECK(save(reopened, "sync", "k", 2, "s3").is_ok());
  CHECK(save(reopened, "sync", "k", 2, "stale").code() == status_code::aborted);
}

namespace {

/// A child process with its stdout on a pipe read line by line.
class child {
public:
  explicit child(std::vector<std::string> args) {
    int out[2];
    int in[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(TROUPE_PERSISTENCE_CHILD));
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(in[0], STDIN_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    out_ = out[0];
    in_ = in[1];
  }
  ~child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    if (in_ >= 0)
      ::close(in_);
  }

  /// The next line, or nullopt at the end of output or after `limit`.
  std::optional<std::string> line(std::chrono::milliseconds limit = std::chrono::seconds{30}) {
    auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char chunk[4096];
      auto n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0)
        return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void kill_now() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  /// Closes its stdin and waits for it to exit; its exit status.
  int finish() {
    ::close(in_);
    in_ = -1;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  std::string buffer_;
};

} // namespace

TEST_CASE("every SYNC write a killed process was told of survives kill -9",
          "[persistence][durability]") {
  temp_dir dir;
  auto store_dir = dir / "state";
  std::mt19937 random{std::random_device{}()};
  std::map<std::string, std::uint64_t> acked;  // key -> newest acknowledged version
  constexpr int rounds = 3;
  for (int round = 0; round < rounds; ++round) {
    long kill_after = std::uniform_int_distribution<long>{50, 400}(random);
    INFO("round " << round << ": SIGKILL after " << kill_after << " acknowledgements");
    long seen = 0;
    {
      child writer{{"write", store_dir.string(), "16", "1000000"}};
      auto record = [&](const std::string& l) {
        std::istringstream in{l};
        std::string word, key;
        std::uint64_t version = 0;
        in >> word >> key >> version;
        INFO(l);
        REQUIRE(word == "ack");
        acked[key] = std::max(acked[key], version);
        ++seen;
      };
      while (seen < kill_after) {
        auto l = writer.line();
        REQUIRE(l);
        record(*l);
      }
      writer.kill_now();
      // What it printed before it died was acknowledged too.
      while (auto l = writer.line(std::chrono::seconds{5}))
        record(*l);
    }
    rocksdb_store store{store_dir};
    for (const auto& [key, version] : acked) {
      auto s = load(store, "svc", key);
      INFO(key << " acknowledged up to " << version);
      CHECK(s.version >= version);
      CHECK(s.bytes == key + "@" + std::to_string(s.version));
    }
  }
  CHECK(acked.size() == 16);
}
