// Checkpoints taken while the store serves, and restore_from().
#include <atomic>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "fault_fs.hpp"
#include "store_support.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status;
using troupe::status_code;

namespace {

status take_checkpoint(rocksdb_store& store, const std::filesystem::path& target) {
  write_result r;
  store.checkpoint(target, r.callback());
  return r.get();
}

std::string restore_error(const std::filesystem::path& from, const std::filesystem::path& to) {
  try {
    restore_from(from, to);
  } catch (const storage_error& e) {
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("a checkpoint taken while writes go on restores every write acknowledged before it",
          "[persistence][checkpoint]") {
  temp_dir dir;
  rocksdb_store store{dir / "state"};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(store.open_namespace("batched", batched_namespace(std::chrono::hours{1})).is_ok());
  for (int i = 0; i < 50; ++i)
    REQUIRE(save(store, "svc", "key-" + std::to_string(i), 0, "v" + std::to_string(i)).is_ok());
  REQUIRE(save(store, "batched", "k", 0, "not yet synced").is_ok());

  // A writer keeps writing while the checkpoint is taken.
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::thread writer{[&] {
    for (int i = 0; i < 100000 && !stop; ++i) {
      if (!save_quietly(store, "svc", "bg-" + std::to_string(i), 0, "x").is_ok())
        return;
      ++acked;
    }
  }};
  REQUIRE(eventually([&] { return acked > 0; }));
  int acked_before = acked;
  auto st = take_checkpoint(store, dir / "backup");
  stop = true;
  writer.join();
  INFO(st.message());
  REQUIRE(st.is_ok());
  CHECK(std::filesystem::exists(dir / "backup" / "FORMAT"));

  restore_from(dir / "backup", dir / "restored");
  rocksdb_store restored{dir / "restored"};
  for (int i = 0; i < 50; ++i)
    CHECK(load(restored, "svc", "key-" + std::to_string(i)).bytes == "v" + std::to_string(i));
  CHECK(load(restored, "batched", "k").bytes == "not yet synced");
  for (int i = 0; i < acked_before; ++i)
    CHECK(load(restored, "svc", "bg-" + std::to_string(i)).version == 1);
  // A restored store is a store like any other.
  REQUIRE(restored.open_namespace("svc", sync_namespace()).is_ok());
  CHECK(save(restored, "svc", "key-0", 1, "after").is_ok());
  CHECK(load(store, "svc", "key-0").bytes == "v0");
}

TEST_CASE("a checkpoint refuses a target that holds something and a second one at a time",
          "[persistence][checkpoint]") {
  temp_dir dir;
  fault_switches sw;
  rocksdb_store store{rocksdb_store::impl::open(dir / "state", {}, fault_env(sw))};
  release_at_exit release{sw};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(save(store, "svc", "k", 0, "v").is_ok());

  std::filesystem::create_directories(dir / "taken");
  { std::ofstream{dir / "taken" / "notes.txt"} << "someone's"; }
  auto exists = take_checkpoint(store, dir / "taken");
  CHECK(exists.code() == status_code::already_exists);
  CHECK(std::filesystem::exists(dir / "taken" / "notes.txt"));
  { std::ofstream{dir / "a-file"} << "x"; }
  CHECK(take_checkpoint(store, dir / "a-file").code() == status_code::already_exists);
  CHECK(take_checkpoint(store, dir / "no" / "parent").code() == status_code::invalid_argument);

  // An empty directory takes one: an operator may have made it beforehand.
  std::filesystem::create_directories(dir / "empty");
  REQUIRE(take_checkpoint(store, dir / "empty").is_ok());
  CHECK(std::filesystem::exists(dir / "empty" / "FORMAT"));

  // The first checkpoint flushes the memtable and waits in the table's sync.
  sw.file_sync_gate.close();
  write_result first;
  store.checkpoint(dir / "one", first.callback());
  REQUIRE(sw.file_sync_gate.wait_for_waiting(1));
  // Writes go on meanwhile: a SYNC save is acknowledged while the
  // checkpoint is held in the middle.
  CHECK(save(store, "svc", "during", 0, "w").is_ok());
  auto second = take_checkpoint(store, dir / "two");
  CHECK(second.code() == status_code::unavailable);
  CHECK(second.message() == "a checkpoint is already being written");
  sw.file_sync_gate.open();
  CHECK(first.get().is_ok());
  CHECK(take_checkpoint(store, dir / "two").is_ok());
}

TEST_CASE("restore_from refuses a data directory that is not empty and what is no checkpoint",
          "[persistence][checkpoint]") {
  temp_dir dir;
  {
    rocksdb_store store{dir / "state"};
    REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
    REQUIRE(save(store, "svc", "k", 0, "v").is_ok());
    REQUIRE(take_checkpoint(store, dir / "backup").is_ok());
  }
  SECTION("a data directory that is not empty") {
    auto error = restore_error(dir / "backup", dir / "state");
    CHECK_THAT(error, Catch::Contains("refusing to overwrite " + (dir / "state").string()));
    rocksdb_store store{dir / "state"};  // untouched
    CHECK(load(store, "svc", "k").bytes == "v");
  }
  SECTION("an empty data directory is filled") {
    std::filesystem::create_directories(dir / "empty");
    restore_from(dir / "backup", dir / "empty");
    rocksdb_store store{dir / "empty"};
    CHECK(load(store, "svc", "k").bytes == "v");
  }
  SECTION("a directory that is no checkpoint") {
    std::filesystem::create_directories(dir / "other");
    std::ofstream{dir / "other" / "x"} << "x";
    CHECK_THAT(restore_error(dir / "other", dir / "new"),
               Catch::Contains("not a checkpoint of a Troupe state store"));
    CHECK_FALSE(std::filesystem::exists(dir / "new"));
  }
  SECTION("a damaged checkpoint") {
    for (const auto& e : std::filesystem::directory_iterator{dir / "backup"})
      if (e.path().filename().string().rfind("MANIFEST", 0) == 0)
        std::ofstream{e.path(), std::ios::trunc} << std::string(100, 'x');
    auto error = restore_error(dir / "backup", dir / "new");
    CHECK_THAT(error, Catch::Contains("does not open"));
    CHECK(error.find('\n') == std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "new"));
  }
  SECTION("a checkpoint that is not there") {
    CHECK_THAT(restore_error(dir / "nowhere", dir / "new"), Catch::Contains("not a directory"));
  }
}
