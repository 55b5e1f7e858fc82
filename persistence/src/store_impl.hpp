// The open store behind rocksdb_store: its database, the namespace table,
// the writer and the readers.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "commit_writer.hpp"
#include "database.hpp"
#include "fault_log.hpp"
#include "namespace_table.hpp"
#include "reader_pool.hpp"
#include "store_counters.hpp"
#include "troupe/persistence/rocksdb_store.hpp"

namespace rocksdb {
class Cache;
class Env;
}

namespace troupe::persistence {

struct rocksdb_store::impl {
  /// Opens (or creates) the store in `dir`; throws storage_error. `env`:
  /// RocksDB's environment, null for the default (tests pass one whose file
  /// system fails or holds syncs on purpose).
  static std::unique_ptr<impl> open(const std::filesystem::path& dir, store_options options,
                                    std::shared_ptr<rocksdb::Env> env = nullptr);
  ~impl();

  status open_namespace(std::string_view service, const runtime::namespace_options& options);
  void load(std::string_view service, std::string_view key, load_callback done);
  void save(std::string_view service, std::string_view key, std::uint64_t replaces,
            std::string bytes, write_callback done);
  void erase(std::string_view service, std::string_view key, write_callback done);
  void append(std::string_view service, std::string_view key, runtime::journal_append append,
              write_callback done);
  void read_events(std::string_view service, std::string_view key, std::uint64_t from_seq,
                   std::size_t limit, events_callback done);
  void scan(std::string_view service, std::string_view prefix, std::string_view after,
            std::size_t limit, scan_callback done);
  void write_batch(std::string_view service, std::vector<runtime::kv_mutation> batch,
                   write_callback done);
  void list_keys(std::string_view service, std::string_view after, std::size_t limit,
                 runtime::state_store::keys_callback done);
  void import_key(std::string_view service, std::string_view key, runtime::key_image image,
                  write_callback done);
  namespace_figures figures_of(const namespace_table::entry& e) const;
  store_figures figures() const;
  void checkpoint(std::filesystem::path dir, std::function<void(status)> done);

  rocksdb::ColumnFamilyOptions family_options(const std::string& name) const;

  std::filesystem::path dir;
  store_options options;
  fault_log faults;
  store_counters counters;
  // RocksDB's environment and cache outlive the database. `env` is the one
  // given; `store_env` is it with wal_file_system.hpp's file system, the one
  // RocksDB uses.
  std::shared_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::Env> store_env;
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<database> db;
  namespace_table namespaces;
  std::mutex open_mtx;  // one open_namespace at a time
  std::unique_ptr<commit_writer> writer;
  std::unique_ptr<reader_pool> readers;

  std::mutex checkpoint_mtx;
  std::thread checkpoint_thread;
  std::atomic<bool> checkpoint_running{false};

private:
  impl(const std::filesystem::path& dir, store_options options);
};

} // namespace troupe::persistence
