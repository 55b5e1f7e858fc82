// Key-value storage in both state stores (memory and RocksDB): versions per
// key, scans by prefix in pages with a cursor and a byte bound, batches that
// are atomic (a failed expectation, or a failing disk, writes none of them);
// and for RocksDB, keys that survive a reopen.
#include <catch2/catch.hpp>

#include "fault_fs.hpp"
#include "journal_kv_support.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status_code;

TEST_CASE("key-value puts version each key and erases start it over",
          "[persistence][kv]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", sync_namespace()).is_ok());

  CHECK(load(*store, "svc", "a").version == 0);
  REQUIRE(write_batch(*store, "svc", {put("a", "one")}).is_ok());
  REQUIRE(write_batch(*store, "svc", {put("a", "two"), put("b", "bee")}).is_ok());
  auto a = load(*store, "svc", "a");
  CHECK(a.version == 2);
  CHECK(a.bytes == "two");
  CHECK(load(*store, "svc", "b").version == 1);
  REQUIRE(write_batch(*store, "svc", {erase_key("a"), erase_key("never")}).is_ok());
  CHECK(load(*store, "svc", "a").version == 0);
  REQUIRE(write_batch(*store, "svc", {put("a", "anew")}).is_ok());
  CHECK(load(*store, "svc", "a").version == 1);
  CHECK(write_batch(*store, "svc", {}).is_ok());
}

TEST_CASE("a key-value batch is atomic: one failed expectation writes none of it",
          "[persistence][kv]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(write_batch(*store, "svc", {put("a", "a1"), put("c", "c1")}).is_ok());

  auto refused = write_batch(*store, "svc",
                             {put("b", "new"), put("a", "a2", 5), erase_key("c")});
  CHECK(refused.code() == status_code::aborted);
  CHECK(load(*store, "svc", "b").version == 0);
  CHECK(load(*store, "svc", "a").bytes == "a1");
  CHECK(load(*store, "svc", "c").version == 1);
  CHECK(write_batch(*store, "svc", {put("b", "new", 1)}).code() == status_code::aborted);
  CHECK(write_batch(*store, "svc", {erase_key("b", 1)}).code() == status_code::aborted);

  // Expectations that hold: 0 for an absent key, a key's version otherwise.
  REQUIRE(write_batch(*store, "svc", {put("b", "new", 0), put("a", "a2", 1), erase_key("c", 1)})
            .is_ok());
  CHECK(load(*store, "svc", "b").bytes == "new");
  CHECK(load(*store, "svc", "a").version == 2);
  CHECK(load(*store, "svc", "c").version == 0);

  SECTION("an operation sees the ones before it in the batch") {
    REQUIRE(write_batch(*store, "svc", {put("d", "d1", 0), put("d", "d2", 1)}).is_ok());
    auto d = load(*store, "svc", "d");
    CHECK(d.version == 2);
    CHECK(d.bytes == "d2");
    CHECK(write_batch(*store, "svc", {erase_key("d"), put("d", "again", 2)}).code()
          == status_code::aborted);
    CHECK(load(*store, "svc", "d").bytes == "d2");
  }
}

TEST_CASE("a key-value scan reads a prefix in key order, a page at a time",
          "[persistence][kv]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(store->open_namespace("other", sync_namespace()).is_ok());
  std::vector<troupe::runtime::kv_mutation> batch;
  for (int i = 0; i < 25; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "user/%02d", i);
    batch.push_back(put(key, "v" + std::to_string(i)));
  }
  batch.push_back(put("user", "the prefix itself"));
  batch.push_back(put("users", "after the range"));
  batch.push_back(put("usea", "before the range"));
  REQUIRE(write_batch(*store, "svc", batch).is_ok());
  REQUIRE(write_batch(*store, "other", {put("user/00", "another service's")}).is_ok());

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto page = scan(*store, "svc", "user/", after, 10);
    for (const auto& r : page.records) {
      CHECK(r.version == 1);
      seen.push_back(r.key);
    }
    if (page.next.empty())
      break;
    CHECK(page.next == page.records.back().key);
    after = page.next;
  }
  CHECK(pages == 2);  // 10 + 10 + 5
  REQUIRE(seen.size() == 25);
  CHECK(seen.front() == "user/00");
  CHECK(seen.back() == "user/24");
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(scan(*store, "svc", "user/", "user/24").records.empty());
  CHECK(scan(*store, "svc", "user/", "user/23").records.at(0).value == "v24");

  SECTION("an exact page ends with no cursor") {
    auto page = scan(*store, "svc", "user/", "user/14", 10);
    CHECK(page.records.size() == 10);
    CHECK(page.next.empty());
  }
  SECTION("an empty prefix scans every key of the service, not another's") {
    auto page = scan(*store, "svc", "");
    CHECK(page.records.size() == 28);
    CHECK(keys(page).front() == "usea");
    CHECK(keys(scan(*store, "other", "")) == std::vector<std::string>{"user/00"});
  }
  SECTION("prefixes ending in 0xff bytes") {
    REQUIRE(write_batch(*store, "svc", {put(std::string{"\xff\x01", 2}, "a"),
                                        put(std::string{"\xff\xff", 2}, "b"),
                                        put(std::string{"\xff\xff\x00", 3}, "c")})
              .is_ok());
    CHECK(scan(*store, "svc", "\xff").records.size() == 3);
    CHECK(scan(*store, "svc", std::string{"\xff\xff", 2}).records.size() == 2);
  }
}

TEST_CASE("a key-value scan's page ends after the value that takes it past the byte bound",
          "[persistence][kv]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", sync_namespace()).is_ok());
  std::string big(std::size_t{1} << 20, 'x');
  for (char c = 'a'; c <= 'f'; ++c)
    REQUIRE(write_batch(*store, "svc", {put(std::string{c}, big)}).is_ok());
  auto first = scan(*store, "svc", "", {}, 100);
  CHECK(keys(first) == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(first.next == "d");
  auto rest = scan(*store, "svc", "", first.next, 100);
  CHECK(keys(rest) == std::vector<std::string>{"e", "f"});
  CHECK(rest.next.empty());
}

TEST_CASE("the rocksdb store keeps key-value entries across a reopen", "[persistence][kv]") {
  temp_dir dir;
  {
    rocksdb_store store{dir.path()};
    REQUIRE(store.open_namespace("svc", batched_namespace(std::chrono::hours{1})).is_ok());
    REQUIRE(write_batch(store, "svc", {put("a", "1"), put("b", "2")}).is_ok());
    REQUIRE(write_batch(store, "svc", {put("a", "1b", 1), erase_key("b")}).is_ok());
  }
  rocksdb_store reopened{dir.path()};
  auto page = scan(reopened, "svc", "");
  REQUIRE(keys(page) == std::vector<std::string>{"a"});
  CHECK(page.records[0].value == "1b");
  CHECK(page.records[0].version == 2);
  // Writes need the namespace opened in this run.
  CHECK(write_batch(reopened, "never-opened", {put("a", "x")}).code()
        == status_code::failed_precondition);
}

TEST_CASE("a key-value batch the disk fails writes none of it", "[persistence][kv]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(write_batch(store, "svc", {put("a", "a1")}).is_ok());

  sw.no_space = true;
  CHECK(write_batch(store, "svc", {put("a", "a2"), put("b", "b1")}).code()
        == status_code::unavailable);
  CHECK(load(store, "svc", "a").bytes == "a1");
  CHECK(load(store, "svc", "b").version == 0);
  sw.no_space = false;
  REQUIRE(eventually([&] {
    write_result r;
    store.write_batch("svc", {put("a", "a2", 1), put("b", "b1", 0)}, r.callback());
    return r.get().is_ok();
  }, std::chrono::seconds{30}));
  CHECK(load(store, "svc", "a").version == 2);
  CHECK(load(store, "svc", "b").bytes == "b1");
}

TEST_CASE("the rocksdb store refuses values and batches past its bounds", "[persistence][kv]") {
  temp_dir dir;
  store_options options;
  options.max_state_bytes = 1024;
  rocksdb_store store{dir.path(), options};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  CHECK(write_batch(store, "svc", {put("a", std::string(1025, 'x'))}).code()
        == status_code::resource_exhausted);
  std::vector<troupe::runtime::kv_mutation> many;
  for (int i = 0; i < 5; ++i)
    many.push_back(put("k" + std::to_string(i), std::string(1000, 'x')));
  CHECK(write_batch(store, "svc", many).code() == status_code::resource_exhausted);
  CHECK(scan(store, "svc", "").records.empty());
}

TEST_CASE("a refused key-value batch sharing a commit round with other writes leaves "
          "nothing of itself",
          "[persistence][kv]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(write_batch(store, "svc", {put("a", "a1")}).is_ok());

  // Hold the writer in a sync so that the next batches share a round.
  sw.wal_sync_gate.close();
  write_result holder;
  store.save("svc", "other", 0, "x", holder.callback());
  REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));
  write_result before, refused, after;
  auto submit = [&](std::vector<troupe::runtime::kv_mutation> ops, write_result& r) {
    store.write_batch("svc", std::move(ops), r.callback());
  };
  submit({put("x", "x1")}, before);
  // Its first put is staged before the failed expectation is met.
  submit({put("b", "b1"), put("c", "c1"), put("a", "a2", 7)}, refused);
  submit({put("y", "y1")}, after);
  REQUIRE(eventually([&] { return store.figures().pending_writes == 3; }));
  sw.wal_sync_gate.open();
  CHECK(holder.get().is_ok());
  CHECK(before.get().is_ok());
  CHECK(refused.get().code() == status_code::aborted);
  CHECK(after.get().is_ok());
  CHECK(load(store, "svc", "x").version == 1);
  CHECK(load(store, "svc", "y").version == 1);
  CHECK(load(store, "svc", "a").bytes == "a1");
  CHECK(load(store, "svc", "b").version == 0);
  CHECK(load(store, "svc", "c").version == 0);
}
