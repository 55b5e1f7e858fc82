// The store's write-ahead log (persistence/src/wal_file_system.hpp): its
// space is preallocated with the file's size set, RocksDB is told the size of
// what was written, and a store whose WAL ends in preallocated zeros — what a
// crash leaves — recovers every write it acknowledged.
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>

#include "persistence/src/wal_file_system.hpp"
#include "store_support.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;

namespace {

/// The store's write-ahead logs under `dir`.
std::vector<std::filesystem::path> wal_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".log")
      found.push_back(e.path());
  return found;
}

} // namespace

TEST_CASE("a write-ahead log is preallocated with its size set, and RocksDB is told what was "
          "written",
          "[persistence][wal]") {
  temp_dir dir;
  auto fs = make_wal_file_system(rocksdb::FileSystem::Default());
  rocksdb::IOOptions io;
  auto wal_options = fs->OptimizeForLogWrite(rocksdb::FileOptions{}, rocksdb::DBOptions{});
  CHECK_FALSE(wal_options.fallocate_with_keep_size);

  auto path = (dir / "000007.log").string();
  std::unique_ptr<rocksdb::FSWritableFile> file;
  REQUIRE(fs->NewWritableFile(path, wal_options, &file, nullptr).ok());
  constexpr std::size_t block = std::size_t{1} << 20;
  file->SetPreallocationBlockSize(block);
  file->PrepareWrite(0, 100, io, nullptr);
  REQUIRE(file->Append(std::string(100, 'r'), io, nullptr).ok());

  // On disk the file has its preallocated size; RocksDB is told 100 bytes.
  CHECK(std::filesystem::file_size(path) == block);
  std::uint64_t told = 0;
  REQUIRE(fs->GetFileSize(path, io, &told, nullptr).ok());
  CHECK(told == 100);
  REQUIRE(file->Append(std::string(28, 'r'), io, nullptr).ok());
  REQUIRE(fs->GetFileSize(path, io, &told, nullptr).ok());
  CHECK(told == 128);

  // Closed, it is cut to what was written.
  REQUIRE(file->Close(io, nullptr).ok());
  file.reset();
  CHECK(std::filesystem::file_size(path) == 128);
  REQUIRE(fs->GetFileSize(path, io, &told, nullptr).ok());
  CHECK(told == 128);

  SECTION("other files are written as RocksDB writes them") {
    auto other = (dir / "000008.sst").string();
    REQUIRE(fs->NewWritableFile(other, rocksdb::FileOptions{}, &file, nullptr).ok());
    file->SetPreallocationBlockSize(block);
    file->PrepareWrite(0, 100, io, nullptr);
    REQUIRE(file->Append(std::string(100, 's'), io, nullptr).ok());
    CHECK(std::filesystem::file_size(other) == 100);
    REQUIRE(file->Close(io, nullptr).ok());
  }
}

TEST_CASE("a store whose write-ahead log ends in preallocated zeros (a crash) recovers every "
          "acknowledged write",
          "[persistence][wal]") {
  temp_dir dir;
  constexpr int keys = 300;
  {
    rocksdb_store store{dir / "state"};
    REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
    REQUIRE(store.open_namespace("batched", batched_namespace(std::chrono::hours{1})).is_ok());
    for (int i = 0; i < keys; ++i) {
      REQUIRE(save(store, "svc", "key-" + std::to_string(i), 0, "value-" + std::to_string(i))
                .is_ok());
    }
    // Acknowledged, in the OS's page cache, not yet synced: a process crash
    // keeps it.
    REQUIRE(save(store, "batched", "k", 0, "not yet synced").is_ok());

    // What a kill -9 leaves: the files as they are while the store is open.
    // The live WAL is far larger than the some 30 KB of records written to
    // it: the rest is zeros.
    auto wals = wal_files(dir / "state");
    REQUIRE_FALSE(wals.empty());
    std::uintmax_t on_disk = 0;
    for (const auto& w : wals)
      on_disk += std::filesystem::file_size(w);
    CHECK(on_disk >= std::uintmax_t{1} << 20);
    std::filesystem::copy(dir / "state", dir / "crashed", std::filesystem::copy_options::recursive);
  }

  rocksdb_store recovered{dir / "crashed"};
  REQUIRE(recovered.open_namespace("svc", sync_namespace()).is_ok());
  for (int i = 0; i < keys; ++i) {
    auto state = load(recovered, "svc", "key-" + std::to_string(i));
    CHECK(state.version == 1);
    CHECK(state.bytes == "value-" + std::to_string(i));
  }
  CHECK(load(recovered, "batched", "k").bytes == "not yet synced");
  // It writes on, after the zeros.
  CHECK(save(recovered, "svc", "key-0", 1, "after").is_ok());
  CHECK(load(recovered, "svc", "key-0").bytes == "after");
}
