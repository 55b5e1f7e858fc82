// Event journals in both state stores (memory and RocksDB): events numbered
// in order and read back in ranges, an append that is not next refused,
// snapshots (and truncation before them), erase; and for RocksDB, a journal
// read back after a reopen, every acknowledged append surviving kill -9 of
// the process that made it, an append the disk fails leaving nothing, and
// event schemas checked like state schemas.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "fault_fs.hpp"
#include "journal_kv_support.hpp"
#include "persistence/src/journal_codec.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status_code;

TEST_CASE("a journal's events are numbered in order and read back in ranges",
          "[persistence][journal]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", journal_namespace()).is_ok());

  CHECK(read_events(*store, "svc", "k", 1).events.empty());
  REQUIRE(append(*store, "svc", "k", 1, {"e1"}).is_ok());
  REQUIRE(append(*store, "svc", "k", 2, {"e2", "e3", "e4"}).is_ok());

  auto all = read_events(*store, "svc", "k", 1);
  CHECK(seqs(all) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(all.events[0].bytes == "e1");
  CHECK(all.events[3].bytes == "e4");
  CHECK_FALSE(all.more);

  auto middle = read_events(*store, "svc", "k", 2, 2);
  CHECK(seqs(middle) == std::vector<std::uint64_t>{2, 3});
  CHECK(middle.more);
  auto tail = read_events(*store, "svc", "k", 3);
  CHECK(seqs(tail) == std::vector<std::uint64_t>{3, 4});
  CHECK_FALSE(tail.more);
  CHECK(read_events(*store, "svc", "k", 5).events.empty());

  SECTION("keys and services have journals of their own") {
    // "k" is a prefix of "k2": their ranges must not run into each other.
    REQUIRE(append(*store, "svc", "k2", 1, {"other"}).is_ok());
    REQUIRE(store->open_namespace("svc2", journal_namespace()).is_ok());
    REQUIRE(append(*store, "svc2", "k", 1, {"another service"}).is_ok());
    CHECK(seqs(read_events(*store, "svc", "k", 1)) == std::vector<std::uint64_t>{1, 2, 3, 4});
    CHECK(read_events(*store, "svc", "k2", 1).events.at(0).bytes == "other");
    CHECK(read_events(*store, "svc2", "k", 1).events.size() == 1);
    CHECK(read_events(*store, "svc", "never", 1).events.empty());
  }
  SECTION("binary events are stored as they are") {
    std::string bytes{"\0\x01\xff", 3};
    REQUIRE(append(*store, "svc", "k", 5, {bytes, ""}).is_ok());
    auto page = read_events(*store, "svc", "k", 5);
    REQUIRE(page.events.size() == 2);
    CHECK(page.events[0].bytes == bytes);
    CHECK(page.events[1].bytes.empty());
  }
}

TEST_CASE("an append that is not the next in the journal is refused and writes nothing",
          "[persistence][journal]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", journal_namespace()).is_ok());
  REQUIRE(append(*store, "svc", "k", 1, {"e1", "e2"}).is_ok());

  // A writer that is behind (it believes the journal ends at 1) or ahead.
  auto behind = append(*store, "svc", "k", 2, {"stale"}, std::string{"stale snapshot"});
  CHECK(behind.code() == status_code::aborted);
  CHECK(append(*store, "svc", "k", 1, {"stale"}).code() == status_code::aborted);
  CHECK(append(*store, "svc", "k", 4, {"ahead"}).code() == status_code::aborted);
  CHECK(append(*store, "svc", "fresh", 2, {"ahead"}).code() == status_code::aborted);

  auto page = read_events(*store, "svc", "k", 1);
  CHECK(seqs(page) == std::vector<std::uint64_t>{1, 2});
  CHECK(page.events[1].bytes == "e2");
  CHECK(load(*store, "svc", "k").version == 0);  // the refused snapshot is not there
  CHECK(read_events(*store, "svc", "fresh", 1).events.empty());
  CHECK(append(*store, "svc", "k", 3, {"e3"}).is_ok());
  CHECK(append(*store, "svc", "fresh", 1, {"first"}).is_ok());
}

TEST_CASE("a snapshot is stored with its append as the key's state, versioned by its event",
          "[persistence][journal]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", journal_namespace()).is_ok());

  REQUIRE(append(*store, "svc", "k", 1, {"e1", "e2", "e3"}, std::string{"state@3"}).is_ok());
  auto snapshot = load(*store, "svc", "k");
  CHECK(snapshot.version == 3);
  CHECK(snapshot.bytes == "state@3");
  REQUIRE(append(*store, "svc", "k", 4, {"e4"}).is_ok());
  CHECK(load(*store, "svc", "k").version == 3);  // no snapshot with this one
  // Without truncation every event stays.
  CHECK(seqs(read_events(*store, "svc", "k", 1)) == std::vector<std::uint64_t>{1, 2, 3, 4});

  SECTION("truncation drops the events before the snapshot's") {
    REQUIRE(append(*store, "svc", "k", 5, {"e5", "e6"}, std::string{"state@6"}, true).is_ok());
    CHECK(load(*store, "svc", "k").version == 6);
    auto page = read_events(*store, "svc", "k", 1);
    CHECK(seqs(page) == std::vector<std::uint64_t>{6});
    // The journal still ends at 6: the next append is 7, not 1.
    CHECK(append(*store, "svc", "k", 1, {"again"}).code() == status_code::aborted);
    CHECK(append(*store, "svc", "k", 7, {"e7"}).is_ok());
    CHECK(seqs(read_events(*store, "svc", "k", 1)) == std::vector<std::uint64_t>{6, 7});
  }
  SECTION("erase removes the journal with the snapshot; the next append starts at 1") {
    REQUIRE(erase(*store, "svc", "k").is_ok());
    CHECK(read_events(*store, "svc", "k", 1).events.empty());
    CHECK(load(*store, "svc", "k").version == 0);
    CHECK(append(*store, "svc", "k", 5, {"stale"}).code() == status_code::aborted);
    CHECK(append(*store, "svc", "k", 1, {"anew"}).is_ok());
    CHECK(read_events(*store, "svc", "k", 1).events.at(0).bytes == "anew");
  }
}

TEST_CASE("a page of a journal ends after the event that takes it past the byte bound",
          "[persistence][journal]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", journal_namespace()).is_ok());
  std::string big(std::size_t{1} << 20, 'x');
  for (std::uint64_t seq = 1; seq <= 6; ++seq)
    REQUIRE(append(*store, "svc", "k", seq, {big}).is_ok());
  auto first = read_events(*store, "svc", "k", 1, 100);
  CHECK(seqs(first) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(first.more);
  auto rest = read_events(*store, "svc", "k", 5, 100);
  CHECK(seqs(rest) == std::vector<std::uint64_t>{5, 6});
  CHECK_FALSE(rest.more);
}

TEST_CASE("the rocksdb store keeps journals across a reopen and refuses keys with a zero byte",
          "[persistence][journal]") {
  temp_dir dir;
  {
    rocksdb_store store{dir.path()};
    REQUIRE(store.open_namespace("svc", journal_namespace()).is_ok());
    REQUIRE(append(store, "svc", "k", 1, {"e1", "e2"}, std::string{"state@2"}).is_ok());
    REQUIRE(append(store, "svc", "k", 3, {"e3"}).is_ok());
    std::string zero{"a\0b", 3};
    CHECK(append(store, "svc", zero, 1, {"e"}).code() == status_code::invalid_argument);
    // A store without the namespace's journal.
    REQUIRE(store.open_namespace("plain", sync_namespace()).is_ok());
    CHECK(append(store, "plain", "k", 1, {"e"}).code() == status_code::failed_precondition);
  }
  rocksdb_store reopened{dir.path()};
  // Readable before the namespace is opened in this run (operators, the
  // admin API), and writable once it is.
  CHECK(seqs(read_events(reopened, "svc", "k", 1)) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(load(reopened, "svc", "k").version == 2);
  REQUIRE(reopened.open_namespace("svc", journal_namespace()).is_ok());
  CHECK(append(reopened, "svc", "k", 3, {"stale"}).code() == status_code::aborted);
  CHECK(append(reopened, "svc", "k", 4, {"e4"}).is_ok());
  CHECK(read_events(reopened, "svc", "k", 4).events.at(0).bytes == "e4");
}

TEST_CASE("the rocksdb store's journal encoding: a key's events are one ordered range",
          "[persistence][journal]") {
  CHECK(event_key("k", 1) == std::string{"k\0\0\0\0\0\0\0\0\x01", 10});
  CHECK(event_key("k", 0x0102) < event_key("k", 0x0201));
  CHECK(event_key("k", ~std::uint64_t{0}) < journal_end("k"));
  CHECK(journal_end("k") < event_key("k\x01", 0));
  CHECK(event_seq(event_key("key", 77), "key") == 77u);
  CHECK_FALSE(event_seq(event_key("key2", 77), "key"));
  CHECK(prefix_end("ab") == "ac");
  CHECK(prefix_end(std::string{"a\xff", 2}) == "b");
  CHECK(prefix_end(std::string{"\xff\xff", 2}).empty());
}

TEST_CASE("two appends of one key in one commit round: the second must follow the first",
          "[persistence][journal]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", journal_namespace()).is_ok());
  REQUIRE(append(store, "svc", "warm-up", 1, {"e"}).is_ok());

  // Hold the writer in a sync so that the next appends share a round.
  sw.wal_sync_gate.close();
  write_result holder;
  store.save("svc", "other", 0, "x", holder.callback());
  REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));
  write_result first, same, next;
  auto submit = [&](std::uint64_t seq, const char* bytes, write_result& r) {
    troupe::runtime::journal_append a;
    a.first_seq = seq;
    a.events = {bytes};
    store.append("svc", "k", std::move(a), r.callback());
  };
  submit(1, "first", first);
  submit(1, "same number", same);
  submit(2, "next", next);
  REQUIRE(eventually([&] { return store.figures().pending_writes == 3; }));
  sw.wal_sync_gate.open();
  CHECK(holder.get().is_ok());
  CHECK(first.get().is_ok());
  CHECK(same.get().code() == status_code::aborted);
  CHECK(next.get().is_ok());
  auto page = read_events(store, "svc", "k", 1);
  REQUIRE(seqs(page) == std::vector<std::uint64_t>{1, 2});
  CHECK(page.events[0].bytes == "first");
  CHECK(page.events[1].bytes == "next");
}

TEST_CASE("an append the disk fails writes nothing and the journal goes on after healing",
          "[persistence][journal]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", journal_namespace()).is_ok());
  REQUIRE(append(store, "svc", "k", 1, {"e1"}).is_ok());

  sw.no_space = true;
  CHECK(append(store, "svc", "k", 2, {"e2", "e3"}, std::string{"snap"}).code()
        == status_code::unavailable);
  CHECK(seqs(read_events(store, "svc", "k", 1)) == std::vector<std::uint64_t>{1});
  CHECK(load(store, "svc", "k").version == 0);
  sw.no_space = false;
  REQUIRE(eventually([&] {
    troupe::runtime::journal_append a;
    a.first_seq = 2;
    a.events = {"e2"};
    write_result r;
    store.append("svc", "k", std::move(a), r.callback());
    return r.get().is_ok();
  }, std::chrono::seconds{30}));
  CHECK(seqs(read_events(store, "svc", "k", 1)) == std::vector<std::uint64_t>{1, 2});
}

namespace {

struct parse_errors : google::protobuf::io::ErrorCollector {
  void AddError(int line, int column, const std::string& message) override {
    text += std::to_string(line) + ":" + std::to_string(column) + ": " + message + "\n";
  }
  std::string text;
};

/// A journaling namespace whose events are t.Event declared by `body`.
troupe::runtime::namespace_options with_events(const std::string& body) {
  std::string proto = "syntax = \"proto3\"; package t; " + body;
  google::protobuf::io::ArrayInputStream input{proto.data(), static_cast<int>(proto.size())};
  parse_errors errors;
  google::protobuf::io::Tokenizer tokenizer{&input, &errors};
  google::protobuf::compiler::Parser parser;
  google::protobuf::FileDescriptorProto file;
  bool parsed = parser.Parse(&tokenizer, &file);
  INFO(errors.text);
  REQUIRE(parsed);
  file.set_name("events.proto");
  google::protobuf::FileDescriptorSet set;
  *set.add_file() = file;
  auto options = journal_namespace();
  options.event_type = "t.Event";
  options.event_descriptors = set.SerializeAsString();
  return options;
}

} // namespace

TEST_CASE("open_namespace refuses an event message that cannot read the events stored",
          "[persistence][journal][schema]") {
  temp_dir dir;
  {
    rocksdb_store store{dir.path()};
    REQUIRE(store.open_namespace("svc", with_events("message Event { int64 amount = 1; }")).is_ok());
    REQUIRE(append(store, "svc", "k", 1, {"\x08\x05"}).is_ok());
  }
  rocksdb_store store{dir.path()};
  auto added = with_events("message Event { int64 amount = 1; string note = 2; }");
  CHECK(store.open_namespace("svc", added).is_ok());
  auto st = store.open_namespace("svc", with_events("message Event { string amount = 1; }"));
  CHECK(st.code() == status_code::failed_precondition);
  CHECK_THAT(st.message(), Catch::StartsWith("service svc: events: ")
                             && Catch::Contains("Event.amount (number 1)"));
  CHECK(read_events(store, "svc", "k", 1).events.at(0).bytes == "\x08\x05");
}

namespace {

/// A child process with its stdout on a pipe read line by line.
class child {
public:
  explicit child(std::vector<std::string> args) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(TROUPE_PERSISTENCE_CHILD));
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
  }
  ~child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
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

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

} // namespace

TEST_CASE("every append a killed process was told of survives kill -9",
          "[persistence][journal][durability]") {
  temp_dir dir;
  auto store_dir = dir / "state";
  std::mt19937 random{std::random_device{}()};
  std::map<std::string, std::uint64_t> acked;  // key -> newest acknowledged event number
  constexpr int rounds = 3;
  for (int round = 0; round < rounds; ++round) {
    long kill_after = std::uniform_int_distribution<long>{50, 400}(random);
    INFO("round " << round << ": SIGKILL after " << kill_after << " acknowledgements");
    long seen = 0;
    {
      child writer{{"append", store_dir.string(), "8", "1000000"}};
      auto record = [&](const std::string& l) {
        std::istringstream in{l};
        std::string word, key;
        std::uint64_t last = 0;
        in >> word >> key >> last;
        INFO(l);
        REQUIRE(word == "ack");
        acked[key] = std::max(acked[key], last);
        ++seen;
      };
      while (seen < kill_after) {
        auto l = writer.line();
        REQUIRE(l);
        record(*l);
      }
      writer.kill_now();
      while (auto l = writer.line(std::chrono::seconds{5}))
        record(*l);
    }
    rocksdb_store store{store_dir};
    for (const auto& [key, last] : acked) {
      INFO(key << " acknowledged up to event " << last);
      // Every event from 1 on, each one what the writer appended, and no
      // gap; an append in flight at the kill may be there too.
      std::uint64_t expected = 1;
      for (;;) {
        auto page = read_events(store, "journaled", key, expected, 500);
        for (const auto& e : page.events) {
          REQUIRE(e.seq == expected);
          CHECK(e.bytes == key + "#" + std::to_string(e.seq));
          ++expected;
        }
        if (!page.more)
          break;
      }
      CHECK(expected - 1 >= last);
      // The snapshot the writer stores every 10 events is one of them.
      auto snapshot = load(store, "journaled", key);
      CHECK(snapshot.version <= expected - 1);
      CHECK(snapshot.version >= (last / 10) * 10);
      if (snapshot.version > 0)
        CHECK(snapshot.bytes == key + "@" + std::to_string(snapshot.version));
    }
  }
  CHECK(acked.size() == 8);
}
