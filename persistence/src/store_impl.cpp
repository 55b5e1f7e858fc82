#include "store_impl.hpp"

#include <algorithm>
#include <map>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include "schema_records.hpp"
#include "store_directory.hpp"
#include "troupe/persistence/schema_check.hpp"

namespace troupe::persistence {

namespace {

constexpr const char* meta_family_name = "meta";

rocksdb::CompressionType to_rocksdb(store_options::compression c) {
  switch (c) {
    case store_options::compression::none:
      return rocksdb::kNoCompression;
    case store_options::compression::snappy:
      return rocksdb::kSnappyCompression;
    case store_options::compression::lz4:
      return rocksdb::kLZ4Compression;
    case store_options::compression::zstd:
      return rocksdb::kZSTD;
  }
  return rocksdb::kNoCompression;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

/// The one line an operator reads when RocksDB refused to open `dir`.
std::string open_fault(const std::filesystem::path& dir, const rocksdb::Status& s) {
  auto text = one_line(s.ToString());
  auto where = describe(dir);
  if (contains(text, "Read-only file system") || contains(text, "Permission denied"))
    return where + " is not writable: " + text;
  if (s.IsIOError() && (contains(text, "lock") || contains(text, "Resource temporarily unavailable")))
    return where + " is in use by another process (its LOCK is held)";
  if (s.IsCorruption())
    return where + " is corrupt (" + text
           + "); it was left as it is: repair it or start from a checkpoint (--restore)";
  if (s.IsPathNotFound() || contains(text, "No such file") || contains(text, "does not exist"))
    return where + " is incomplete (" + text
           + "); it was left as it is: repair it or start from a checkpoint (--restore)";
  if (s.IsNoSpace())
    return where + " cannot be opened: the disk is full (" + text + ")";
  return where + " cannot be opened: " + text;
}

/// Tells the fault log about RocksDB's background errors and recoveries.
class fault_listener : public rocksdb::EventListener {
public:
  explicit fault_listener(fault_log& log) : log_(log) {
  }

  const char* Name() const override {
    return "troupe_fault_listener";
  }

  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error != nullptr && !error->ok())
      log_.report("state store: RocksDB stopped writing after an error: "
                  + one_line(error->ToString()));
  }

  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok())
      log_.report("state store: RocksDB writes again after: "
                  + one_line(info.old_bg_error.ToString()));
  }

private:
  fault_log& log_;
};

std::uint64_t int_property(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
                           const rocksdb::Slice& name) {
  std::uint64_t value = 0;
  if (family != nullptr ? db.GetIntProperty(family, name, &value)
                        : db.GetIntProperty(name, &value))
    return value;
  return 0;
}

std::uint64_t map_entry(const std::map<std::string, std::string>& map, const std::string& key) {
  auto i = map.find(key);
  if (i == map.end())
    return 0;
  try {
    return static_cast<std::uint64_t>(std::stod(i->second));
  } catch (const std::exception&) {
    return 0;
  }
}

} // namespace

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

rocksdb_store::impl::impl(const std::filesystem::path& d, store_options o)
  : dir(d), options(std::move(o)), faults(options.on_fault) {
}

rocksdb::ColumnFamilyOptions rocksdb_store::impl::family_options(bool meta_family) const {
  rocksdb::ColumnFamilyOptions family;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Loads and version checks are point lookups; most misses (a key's first
  // activation) are answered by the filter without reading a block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  family.compression = to_rocksdb(options.block_compression);
  family.level_compaction_dynamic_level_bytes = true;
  family.write_buffer_size =
    meta_family ? std::size_t{1} << 20
                : std::max<std::size_t>(options.memtable_bytes / 4, std::size_t{1} << 20);
  return family;
}

std::unique_ptr<rocksdb_store::impl> rocksdb_store::impl::open(const std::filesystem::path& dir,
                                                               store_options options,
                                                               std::shared_ptr<rocksdb::Env> env) {
  std::unique_ptr<impl> self{new impl(dir, std::move(options))};
  self->env = std::move(env);
  self->cache = rocksdb::NewLRUCache(self->options.block_cache_bytes);
  self->listener = std::make_shared<fault_listener>(self->faults);

  bool fresh = prepare_store_directory(dir);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = fresh;
  db_options.create_missing_column_families = fresh;
  db_options.paranoid_checks = true;
  db_options.max_total_wal_size = self->options.max_wal_bytes;
  db_options.db_write_buffer_size = self->options.memtable_bytes;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = std::size_t{8} << 20;
  db_options.listeners.push_back(self->listener);
  if (self->env)
    db_options.env = self->env.get();

  std::vector<std::string> names;
  if (fresh) {
    names = {rocksdb::kDefaultColumnFamilyName, meta_family_name};
  } else {
    auto s = rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &names);
    if (!s.ok())
      throw storage_error(open_fault(dir, s));
    if (std::find(names.begin(), names.end(), meta_family_name) == names.end())
      throw storage_error(describe(dir) + " is incomplete (it has no \"meta\" column family); it "
                                          "was left as it is");
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, self->family_options(name == meta_family_name));

  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, dir.string(), descriptors, &self->families, &raw);
  if (!s.ok())
    throw storage_error(open_fault(dir, s));
  self->db.reset(raw);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == meta_family_name)
      self->meta = self->families[i];
    else if (auto service = service_of_family(names[i]); !service.empty())
      self->namespaces.add_existing(std::string{service}, self->families[i]);
  }

  self->writer = std::make_unique<commit_writer>(
    *self->db,
    writer_limits{std::max<std::size_t>(self->options.max_pending_writes, 1),
                  self->options.max_pending_write_bytes,
                  std::max<std::size_t>(self->options.max_round_writes, 1)},
    self->counters, self->faults);
  self->readers = std::make_unique<reader_pool>(
    *self->db, self->options.reader_threads, std::max<std::size_t>(self->options.max_pending_reads, 1),
    self->counters, self->faults);
  return self;
}

rocksdb_store::impl::~impl() {
  if (writer)
    writer->stop();  // commits what is queued and syncs it
  if (readers)
    readers->stop();
  {
    std::lock_guard guard{checkpoint_mtx};
    if (checkpoint_thread.joinable())
      checkpoint_thread.join();
  }
  writer.reset();
  readers.reset();
  if (db) {
    for (auto* family : families)
      db->DestroyColumnFamilyHandle(family);
    families.clear();
    auto s = db->Close();
    if (!s.ok())
      faults.report("state store: closing RocksDB failed: " + one_line(s.ToString()));
    db.reset();
  }
}

status rocksdb_store::impl::open_namespace(std::string_view service,
                                           const runtime::namespace_options& ns_options) {
  using durability = runtime::namespace_options::durability;
  if (service.empty())
    return {status_code::invalid_argument, "a state namespace needs a service name"};
  if (ns_options.mode == durability::batched && ns_options.batch_interval.count() <= 0)
    return {status_code::invalid_argument,
            "service " + std::string{service} + ": a BATCHED interval must be positive"};
  if (ns_options.state_type.empty() != ns_options.state_descriptors.empty())
    return {status_code::invalid_argument,
            "service " + std::string{service}
              + ": a state schema needs both its type name and its descriptors"};

  std::lock_guard guard{open_mtx};
  std::optional<state_schema> to_store;
  if (!ns_options.state_type.empty()) {
    state_schema next{ns_options.state_type, ns_options.state_descriptors};
    std::vector<stored_schema> stored;
    if (auto st = read_schemas(*db, meta, service, stored); !st)
      return st;
    for (const auto& old : stored) {
      if (auto st = check_schema_compatible(old.schema, next); !st)
        return {st.code(), "service " + std::string{service} + ": " + st.message()};
    }
    if (stored.empty() || stored.back().schema.type_name != next.type_name
        || stored.back().schema.descriptors != next.descriptors)
      to_store = std::move(next);
  }

  auto family = namespaces.find(service);
  rocksdb::ColumnFamilyHandle* handle = family ? family->family : nullptr;
  if (handle == nullptr) {
    auto s = db->CreateColumnFamily(family_options(false), state_family_name(service), &handle);
    if (!s.ok())
      return {status_code::unavailable, "service " + std::string{service}
                                          + ": its state namespace cannot be created: "
                                          + one_line(s.ToString())};
    families.push_back(handle);
  }
  if (to_store) {
    if (auto st = append_schema(*db, meta, service, *to_store); !st)
      return st;
  }
  namespaces.open(std::string{service}, handle, ns_options);
  return {};
}

void rocksdb_store::impl::load(std::string_view service, std::string_view key,
                               load_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    // Nothing was ever stored for a service without a namespace.
    done({}, {});
    return;
  }
  readers->submit(read_request{target->family, std::string{key}, std::move(done)});
}

void rocksdb_store::impl::save(std::string_view service, std::string_view key,
                               std::uint64_t replaces, std::string bytes, write_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    done({status_code::failed_precondition,
          "service " + std::string{service} + " has no state namespace"});
    return;
  }
  if (bytes.size() > options.max_state_bytes) {
    done({status_code::resource_exhausted,
          "the state is larger than the store accepts (" + std::to_string(bytes.size())
            + " bytes, at most " + std::to_string(options.max_state_bytes) + ")"});
    return;
  }
  writer->submit(write_request{*target, std::string{key}, false, replaces, std::move(bytes),
                               std::move(done)});
}

void rocksdb_store::impl::erase(std::string_view service, std::string_view key,
                                write_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    done({});  // nothing stored: nothing to remove
    return;
  }
  writer->submit(write_request{*target, std::string{key}, true, 0, {}, std::move(done)});
}

namespace_figures rocksdb_store::impl::figures_of(const namespace_table::entry& e) const {
  namespace_figures out;
  out.service = e.service;
  out.opened = e.opened;
  auto* family = e.ref.family;
  out.keys = int_property(*db, family, rocksdb::DB::Properties::kEstimateNumKeys);
  out.sst_bytes = int_property(*db, family, rocksdb::DB::Properties::kLiveSstFilesSize);
  out.live_data_bytes = int_property(*db, family, rocksdb::DB::Properties::kEstimateLiveDataSize);
  out.memtable_bytes = int_property(*db, family, rocksdb::DB::Properties::kCurSizeAllMemTables);
  out.pending_compaction_bytes =
    int_property(*db, family, rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
  std::map<std::string, std::string> stats;
  if (db->GetMapProperty(family, rocksdb::DB::Properties::kCFStats, &stats)) {
    out.stall_stops = map_entry(stats, "io_stalls.total_stop");
    out.stall_slowdowns = map_entry(stats, "io_stalls.total_slowdown");
  }
  return out;
}

store_figures rocksdb_store::impl::figures() const {
  store_figures out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator{dir, ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      auto size = it->file_size(size_ec);
      if (!size_ec)
        out.disk_bytes += size;
    }
  }
  out.pending_reads = readers->pending();
  out.pending_writes = writer->pending();
  auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  out.commit_rounds = get(counters.commit_rounds);
  out.wal_syncs = get(counters.wal_syncs);
  out.writes_committed = get(counters.writes_committed);
  out.writes_refused_stale = get(counters.writes_refused_stale);
  out.writes_failed = get(counters.writes_failed);
  out.refused_overloaded = get(counters.refused_overloaded);
  out.write_stopped = int_property(*db, nullptr, rocksdb::DB::Properties::kIsWriteStopped) != 0;
  out.delayed_write_rate = int_property(*db, nullptr, rocksdb::DB::Properties::kActualDelayedWriteRate);
  std::map<std::string, std::string> stats;
  if (db->GetMapProperty(rocksdb::DB::Properties::kDBStats, &stats))
    out.write_stall_micros = map_entry(stats, "db.user_write_stall_micros");
  out.last_fault = faults.last();
  return out;
}

void rocksdb_store::impl::checkpoint(std::filesystem::path target,
                                     std::function<void(status)> done) {
  std::lock_guard guard{checkpoint_mtx};
  if (checkpoint_running.exchange(true)) {
    done({status_code::unavailable, "a checkpoint is already being written"});
    return;
  }
  if (checkpoint_thread.joinable())
    checkpoint_thread.join();  // the previous one, finished
  checkpoint_thread = std::thread{[this, target = std::move(target), done = std::move(done)] {
    status result;
    std::error_code ec;
    if (std::filesystem::exists(target, ec)) {
      result = {status_code::already_exists,
                "checkpoint directory " + target.string() + " exists already"};
    } else {
      rocksdb::Checkpoint* raw = nullptr;
      auto s = rocksdb::Checkpoint::Create(db.get(), &raw);
      std::unique_ptr<rocksdb::Checkpoint> cp{raw};
      if (s.ok())
        s = cp->CreateCheckpoint(target.string());
      if (!s.ok()) {
        result = {status_code::unavailable,
                  "checkpoint into " + target.string() + " failed: " + one_line(s.ToString())};
      } else {
        try {
          write_format_file(target);
        } catch (const storage_error& e) {
          result = {status_code::unavailable, e.what()};
        }
      }
    }
    checkpoint_running = false;
    done(std::move(result));
  }};
}

} // namespace troupe::persistence
