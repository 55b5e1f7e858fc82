// The RocksDB state store's contract: versions that refuse a stale writer
// (also two saves of one key in flight), one namespace per service, its
// bounds, and its figures.
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <rocksdb/db.h>

#include "fault_fs.hpp"
#include "store_support.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status;
using troupe::status_code;

TEST_CASE("the rocksdb store versions every write and refuses a stale writer",
          "[persistence]") {
  temp_dir dir;
  rocksdb_store store{dir.path()};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  CHECK(load(store, "svc", "k").version == 0);

  REQUIRE(save(store, "svc", "k", 0, "one").is_ok());
  auto first = load(store, "svc", "k");
  CHECK(first.version == 1);
  CHECK(first.bytes == "one");

  REQUIRE(save(store, "svc", "k", 1, "two").is_ok());
  auto stale = save(store, "svc", "k", 1, "stale");
  CHECK(stale.code() == status_code::aborted);
  auto again = save(store, "svc", "k", 0, "from scratch");
  CHECK(again.code() == status_code::aborted);
  auto second = load(store, "svc", "k");
  CHECK(second.version == 2);
  CHECK(second.bytes == "two");
  CHECK(store.figures().writes_refused_stale == 2);

  SECTION("erase removes the state; the next write starts again at version 1") {
    REQUIRE(erase(store, "svc", "k").is_ok());
    CHECK(load(store, "svc", "k").version == 0);
    REQUIRE(erase(store, "svc", "never-written").is_ok());
    REQUIRE(save(store, "svc", "k", 0, "again").is_ok());
    CHECK(load(store, "svc", "k").version == 1);
  }
  SECTION("binary keys and states are stored as they are") {
    std::string key{"\0k\xff", 3};
    std::string bytes{"\0\x01\x02\xff", 4};
    REQUIRE(save(store, "svc", key, 0, bytes).is_ok());
    CHECK(load(store, "svc", key).bytes == bytes);
    CHECK(load(store, "svc", std::string{"\0k", 2}).version == 0);
  }
}

TEST_CASE("services are separate namespaces of the rocksdb store", "[persistence]") {
  temp_dir dir;
  rocksdb_store store{dir.path()};
  REQUIRE(store.open_namespace("a.Svc", sync_namespace()).is_ok());
  REQUIRE(store.open_namespace("b.Svc", batched_namespace(std::chrono::milliseconds{20})).is_ok());
  REQUIRE(save(store, "a.Svc", "k", 0, "a's").is_ok());
  CHECK(load(store, "b.Svc", "k").version == 0);
  // The same key in another service starts at its own version 0.
  REQUIRE(save(store, "b.Svc", "k", 0, "b's").is_ok());
  REQUIRE(save(store, "b.Svc", "k", 1, "b's 2").is_ok());
  REQUIRE(erase(store, "b.Svc", "k").is_ok());
  CHECK(load(store, "a.Svc", "k").bytes == "a's");
  CHECK(load(store, "a.Svc", "k").version == 1);

  // A service whose namespace was never opened has nothing stored, and
  // cannot write.
  CHECK(load(store, "c.Svc", "k").version == 0);
  CHECK(save(store, "c.Svc", "k", 0, "x").code() == status_code::failed_precondition);
  CHECK(store.namespaces() == std::vector<std::string>{"a.Svc", "b.Svc"});
}

TEST_CASE("two saves of one key in one commit round: only the first one's version matches",
          "[persistence]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(store.open_namespace("batched", batched_namespace(std::chrono::hours{1})).is_ok());

  // Hold the writer inside a sync, so that what comes next is queued and
  // committed as one round.
  sw.wal_sync_gate.close();
  write_result blocker;
  store.save("svc", "other", 0, "x", blocker.callback());
  REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));

  write_result a, b, c, d;
  store.save("svc", "k", 0, "a", a.callback());
  store.save("svc", "k", 0, "b", b.callback());   // a second activation's write
  store.save("svc", "k", 1, "c", c.callback());   // follows a's
  store.save("batched", "k", 0, "d", d.callback());  // another namespace's key
  REQUIRE(eventually([&] { return store.figures().pending_writes == 4; }));
  sw.wal_sync_gate.open();

  CHECK(blocker.get().is_ok());
  CHECK(a.get().is_ok());
  CHECK(b.get().code() == status_code::aborted);
  CHECK(c.get().is_ok());
  CHECK(d.get().is_ok());
  auto k = load(store, "svc", "k");
  CHECK(k.version == 2);
  CHECK(k.bytes == "c");
  CHECK(load(store, "batched", "k").version == 1);
}

TEST_CASE("concurrent writers of one key: every success is one version and none is lost",
          "[persistence]") {
  temp_dir dir;
  rocksdb_store store{dir.path()};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());

  constexpr int writers = 8;
  constexpr int increments = 25;
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      // Each writer adds its increments to a counter kept as text, reloading
      // after a refusal as an activation would.
      for (int done = 0, attempts = 0; done < increments && attempts < 10000; ++attempts) {
        auto [loaded, current] = load_quietly(store, "svc", "counter");
        if (!loaded.is_ok()) {
          ++errors;
          return;
        }
        auto value = current.bytes.empty() ? 0 : std::stoi(current.bytes);
        auto st = save_quietly(store, "svc", "counter", current.version, std::to_string(value + 1));
        if (st.is_ok())
          ++done;
        else if (st.code() == status_code::aborted)
          ++refused;
        else {
          ++errors;
          return;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(errors == 0);
  auto final = load(store, "svc", "counter");
  CHECK(final.version == writers * increments);
  CHECK(final.bytes == std::to_string(writers * increments));
  CHECK(store.figures().writes_refused_stale == static_cast<std::uint64_t>(refused.load()));
}

TEST_CASE("concurrent writers of many keys each see their own versions", "[persistence]") {
  temp_dir dir;
  rocksdb_store store{dir.path()};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  constexpr int writers = 64;
  constexpr int writes = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto key = "key-" + std::to_string(w);
      for (int v = 0; v < writes; ++v) {
        if (!save_quietly(store, "svc", key, v, key + "@" + std::to_string(v + 1)).is_ok())
          ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(failures == 0);
  for (int w = 0; w < writers; ++w) {
    auto key = "key-" + std::to_string(w);
    auto s = load(store, "svc", key);
    CHECK(s.version == writes);
    CHECK(s.bytes == key + "@" + std::to_string(writes));
  }
  CHECK(store.figures().writes_committed == writers * writes);
}

TEST_CASE("the rocksdb store refuses writes past its queue bound at once", "[persistence]") {
  temp_dir dir;
  fault_switches sw;
  store_options options;
  options.max_pending_writes = 4;
  options.max_pending_write_bytes = 1000;
  options.max_state_bytes = 600;
  rocksdb_store store{rocksdb_store::impl::open(dir.path(), options, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());

  sw.wal_sync_gate.close();
  write_result blocker;
  store.save("svc", "blocker", 0, "x", blocker.callback());
  REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));

  std::vector<write_result> queued(4);
  for (int i = 0; i < 4; ++i)
    store.save("svc", "k" + std::to_string(i), 0, "v", queued[i].callback());
  // The fifth is answered at once, on this thread.
  write_result refused;
  store.save("svc", "k4", 0, "v", refused.callback());
  REQUIRE(refused.ready());
  auto refusal = refused.get();
  CHECK(refusal.code() == troupe::status_code::unavailable);
  CHECK(refusal.message() == "the state store is overloaded");
  CHECK(store.figures().refused_overloaded == 1);
  CHECK(store.figures().pending_writes == 4);

  sw.wal_sync_gate.open();
  CHECK(blocker.get().is_ok());
  for (auto& q : queued)
    CHECK(q.get().is_ok());
  CHECK(load(store, "svc", "k4").version == 0);

  SECTION("the queued bytes are bounded too") {
    sw.wal_sync_gate.close();
    write_result blocker2;
    store.save("svc", "blocker", 1, "x", blocker2.callback());
    REQUIRE(sw.wal_sync_gate.wait_for_waiting(1));
    write_result big1, big2;
    store.save("svc", "big1", 0, std::string(600, 'b'), big1.callback());
    store.save("svc", "big2", 0, std::string(600, 'b'), big2.callback());
    REQUIRE(big2.ready());
    CHECK(big2.get().code() == troupe::status_code::unavailable);
    sw.wal_sync_gate.open();
    CHECK(blocker2.get().is_ok());
    CHECK(big1.get().is_ok());
  }
  SECTION("a state larger than the store accepts is refused") {
    write_result huge;
    store.save("svc", "huge", 0, std::string(601, 'h'), huge.callback());
    REQUIRE(huge.ready());
    CHECK(huge.get().code() == troupe::status_code::resource_exhausted);
  }
}

TEST_CASE("the rocksdb store refuses loads past its queue bound at once", "[persistence]") {
  temp_dir dir;
  fault_switches sw;
  store_options options;
  options.reader_threads = 1;
  options.max_pending_reads = 3;
  options.block_cache_bytes = 0;  // every read goes to the table file
  auto opened = rocksdb_store::impl::open(dir.path(), options, fault_env(sw));
  auto* internals = opened.get();
  rocksdb_store store{std::move(opened)};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(save(store, "svc", "k", 0, "v").is_ok());
  flush_all(*internals);

  // The one reader blocks reading the table file; three more wait in the
  // queue; the fifth is refused.
  sw.table_read_gate.close();
  std::vector<std::shared_ptr<std::promise<status>>> loads;
  auto start_load = [&] {
    auto p = std::make_shared<std::promise<status>>();
    loads.push_back(p);
    store.load("svc", "k", [p](status st, troupe::runtime::stored_state) { p->set_value(st); });
    return p->get_future();
  };
  auto first = start_load();
  REQUIRE(sw.table_read_gate.wait_for_waiting(1));
  std::vector<std::future<status>> queued;
  for (int i = 0; i < 3; ++i)
    queued.push_back(start_load());
  auto refused = start_load();
  REQUIRE(refused.wait_for(std::chrono::seconds{0}) == std::future_status::ready);
  auto st = refused.get();
  CHECK(st.code() == status_code::unavailable);
  CHECK(st.message() == "the state store is overloaded");
  sw.table_read_gate.open();
  CHECK(first.get().is_ok());
  for (auto& q : queued) {
    REQUIRE(q.wait_for(callback_limit) == std::future_status::ready);
    CHECK(q.get().is_ok());
  }
}

TEST_CASE("the rocksdb store reports figures per namespace and for itself", "[persistence]") {
  temp_dir dir;
  rocksdb_store store{dir.path()};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  for (int i = 0; i < 100; ++i)
    REQUIRE(save(store, "svc", "key-" + std::to_string(i), 0, std::string(100, 'x')).is_ok());

  auto ns = store.figures("svc");
  REQUIRE(ns);
  CHECK(ns->service == "svc");
  CHECK(ns->opened);
  CHECK(ns->keys == 100);  // all in the memtable: counted exactly
  CHECK(ns->memtable_bytes > 0);
  CHECK(ns->stall_stops == 0);
  CHECK_FALSE(store.figures("other"));

  auto f = store.figures();
  CHECK(f.writes_committed == 100);
  CHECK(f.commit_rounds == 100);  // one writer, one write at a time
  CHECK(f.wal_syncs == 100);
  CHECK(f.writes_failed == 0);
  CHECK(f.disk_bytes > 100 * 100);
  CHECK_FALSE(f.write_stopped);
  CHECK(f.last_fault.empty());
}

TEST_CASE("a stored value of another format is refused as data loss and not misread",
          "[persistence]") {
  temp_dir dir;
  auto opened = rocksdb_store::impl::open(dir.path(), {});
  auto* internals = opened.get();
  rocksdb_store store{std::move(opened)};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  {
    auto* family = internals->db->family("state:svc");
    REQUIRE(family != nullptr);
    auto access = internals->db->use();
    REQUIRE(access->Put(rocksdb::WriteOptions{}, family->handle, "k", "\x07garbage").ok());
  }
  auto p = std::make_shared<std::promise<status>>();
  store.load("svc", "k", [p](status st, troupe::runtime::stored_state) { p->set_value(st); });
  auto f = p->get_future();
  REQUIRE(f.wait_for(callback_limit) == std::future_status::ready);
  CHECK(f.get().code() == status_code::data_loss);
  CHECK(save(store, "svc", "k", 0, "x").code() == status_code::data_loss);
}
