// The store's RocksDB instance and its column families, and how it comes
// back after a failed write.
//
// Every use holds a shared lock (use()); a column family is reached through a
// family_slot whose address stays valid while the store is open, so that
// queued calls keep pointing at the right family when RocksDB is reopened.
//
// Healing: RocksDB stops writing after a write, flush or sync fails (a full
// disk, an I/O error). Its own recovery from a full disk waits for a reserve
// of free space that a small disk may never have again, and DB::Resume() can
// wait forever for a flush that is never scheduled after a failed one, so
// both are left alone: the writer thread calls heal() before a later round,
// which — once a small file can be written and synced in the directory —
// closes RocksDB and opens it again. The open replays the WAL and flushes
// it, so nothing acknowledged is lost and the WAL that failed is not written
// again. Loads go on meanwhile; should the reopen fail, RocksDB is opened
// read-only so that they still do.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/options.h>

#include "fault_log.hpp"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}

namespace troupe::persistence {

struct family_slot {
  std::string name;
  // Valid under database::use(); replaced when RocksDB is reopened.
  rocksdb::ColumnFamilyHandle* handle = nullptr;
};

class database {
public:
  using family_options_fn = std::function<rocksdb::ColumnFamilyOptions(const std::string& name)>;

  /// Opens RocksDB in `dir` with every column family it has (creating it,
  /// with `initial_families`, when `fresh`). Throws storage_error.
  database(std::filesystem::path dir, bool fresh, std::vector<std::string> initial_families,
           rocksdb::DBOptions options, family_options_fn family_options, fault_log& faults);
  ~database();

  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// RocksDB under a shared lock; empty while it is closed (a reopen failed).
  class access {
  public:
    access() = default;
    access(std::shared_lock<std::shared_mutex> lock, rocksdb::DB* db)
      : lock_(std::move(lock)), db_(db) {
    }
    explicit operator bool() const {
      return db_ != nullptr;
    }
    rocksdb::DB* operator->() const {
      return db_;
    }
    rocksdb::DB& operator*() const {
      return *db_;
    }

  private:
    std::shared_lock<std::shared_mutex> lock_;
    rocksdb::DB* db_ = nullptr;
  };
  access use() const;
  /// use() without waiting: empty while RocksDB is being reopened, too.
  access try_use() const;

  /// The slot of column family `name`; null when there is none.
  family_slot* family(std::string_view name) const;
  std::vector<family_slot*> families() const;
  /// Creates column family `name`.
  rocksdb::Status create_family(const std::string& name, family_slot*& created);

  /// Something failed: heal() before the next write.
  void need_healing() {
    needs_healing_.store(true, std::memory_order_release);
  }
  bool needs_healing() const {
    return needs_healing_.load(std::memory_order_acquire);
  }
  /// Reopens RocksDB when the disk takes writes; true when it accepts
  /// writes again. Not while holding use() on the same thread.
  bool heal();

  const std::filesystem::path& dir() const {
    return dir_;
  }

private:
  class listener;

  void open_locked(bool fresh, const std::vector<std::string>& initial_families);
  void open_read_only_locked();
  void close_locked();
  /// Whether a small file can be written and synced in the directory now.
  bool disk_takes_writes() const;

  const std::filesystem::path dir_;
  rocksdb::DBOptions options_;
  const family_options_fn family_options_;
  fault_log& faults_;
  std::atomic<bool> needs_healing_{false};

  mutable std::shared_mutex mtx_;
  std::unique_ptr<rocksdb::DB> db_;
  bool read_only_ = false;  // opened read-only after a reopen failed
  std::map<std::string, std::unique_ptr<family_slot>, std::less<>> slots_;
};

/// The one line an operator reads when RocksDB refused to open `dir`.
std::string open_fault(const std::filesystem::path& dir, const rocksdb::Status& s);

} // namespace troupe::persistence
