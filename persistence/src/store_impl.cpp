#include "store_impl.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include "info_log.hpp"
#include "range_reads.hpp"
#include "schema_records.hpp"
#include "store_directory.hpp"
#include "wal_file_system.hpp"
#include "troupe/persistence/schema_check.hpp"

namespace troupe::persistence {

namespace {

constexpr const char* meta_family_name = "meta";

/// A write of `what` to `key` in `target`, answered to `done`.
write_request write_of(const namespace_ref& target, std::string_view key,
                       write_request::kind what, runtime::state_store::write_callback done) {
  write_request w;
  w.target = target;
  w.key = std::string{key};
  w.what = what;
  w.done = std::move(done);
  return w;
}

/// Why `key` of `service` can have no journal here (ok: it can).
status journal_refusal(std::string_view service, const std::optional<namespace_ref>& target,
                       std::string_view key) {
  if (!target || target->journal == nullptr)
    return {status_code::failed_precondition,
            "service " + std::string{service} + " has no journal namespace"};
  if (key.find('\0') != std::string_view::npos)
    return {status_code::invalid_argument, "a journal's key cannot hold a zero byte"};
  return {};
}

/// The refusal of a write of `what` (bytes) past `limit` bytes.
status larger_than_accepted(const char* what, std::size_t bytes, std::size_t limit) {
  return {status_code::resource_exhausted, std::string{what}
                                             + " is larger than the store accepts ("
                                             + std::to_string(bytes) + " bytes, at most "
                                             + std::to_string(limit) + ")"};
}

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

/// Whether `target` can take a checkpoint: RocksDB creates the directory
/// itself, so an empty one is removed first; anything else there is kept.
status checkpoint_target_ready(const std::filesystem::path& target) {
  std::error_code ec;
  auto parent = target.has_parent_path() ? target.parent_path() : std::filesystem::path{"."};
  if (!std::filesystem::is_directory(parent, ec))
    return {status_code::invalid_argument,
            "cannot write a checkpoint into " + target.string() + ": " + parent.string()
              + " is not a directory"};
  if (!std::filesystem::exists(std::filesystem::symlink_status(target, ec)))
    return {};
  if (std::filesystem::is_directory(std::filesystem::symlink_status(target, ec))
      && std::filesystem::is_empty(target, ec) && !ec
      && std::filesystem::remove(target, ec) && !ec)
    return {};
  return {status_code::already_exists,
          "checkpoint directory " + target.string() + " exists already and is not empty"};
}

} // namespace

rocksdb_store::impl::impl(const std::filesystem::path& d, store_options o)
  : dir(d), options(std::move(o)), faults(options.on_fault) {
}

rocksdb::ColumnFamilyOptions rocksdb_store::impl::family_options(const std::string& name) const {
  bool meta_family = name == meta_family_name;
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

  bool fresh = prepare_store_directory(dir);

  rocksdb::DBOptions db_options;
  db_options.paranoid_checks = true;
  db_options.max_total_wal_size = self->options.max_wal_bytes;
  db_options.db_write_buffer_size = self->options.memtable_bytes;
  db_options.max_background_jobs = 2;
  // RocksDB's own resuming after an error stays off: the writer heals it
  // (database.hpp).
  db_options.max_bgerror_resume_count = 0;
  db_options.info_log = std::make_shared<info_log>(dir / "LOG", std::size_t{8} << 20);
  self->store_env = rocksdb::NewCompositeEnv(make_wal_file_system(
    (self->env ? self->env.get() : rocksdb::Env::Default())->GetFileSystem()));
  db_options.env = self->store_env.get();

  self->db = std::make_unique<database>(
    dir, fresh, std::vector<std::string>{rocksdb::kDefaultColumnFamilyName, meta_family_name},
    db_options, [raw = self.get()](const std::string& name) { return raw->family_options(name); },
    self->faults);
  if (self->db->family(meta_family_name) == nullptr)
    throw storage_error(describe(dir) + " is corrupt (it has no \"meta\" column family); it "
                                        "was left as it is");
  for (auto* family : self->db->families()) {
    if (auto service = service_of_family(family->name); !service.empty())
      self->namespaces.add_existing(std::string{service}, family);
  }
  for (auto* family : self->db->families()) {
    if (auto service = service_of_journal_family(family->name); !service.empty())
      self->namespaces.add_existing_journal(service, family);
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
  db.reset();
}

namespace {

/// Checks `next` against every schema of `kind` stored for `service`; sets
/// `to_store` when `next` is new.
status plan_schema(database& db, family_slot& meta, std::string_view service, state_schema next,
                   schema_kind kind, std::optional<state_schema>& to_store) {
  std::vector<stored_schema> stored;
  {
    auto access = db.use();
    if (!access)
      return {status_code::unavailable, "the state store cannot read now"};
    if (auto st = read_schemas(*access, meta.handle, service, stored, kind); !st)
      return st;
  }
  for (const auto& old : stored) {
    if (auto st = check_schema_compatible(old.schema, next); !st)
      return {st.code(), "service " + std::string{service} + ": "
                           + (kind == schema_kind::events ? "events: " : "") + st.message()};
  }
  if (stored.empty() || stored.back().schema.type_name != next.type_name
      || stored.back().schema.descriptors != next.descriptors)
    to_store = std::move(next);
  return {};
}

/// The column family `name`, created when it is missing.
status ensure_family(database& db, std::string_view service, const std::string& name,
                     family_slot*& family) {
  family = db.family(name);
  if (family != nullptr)
    return {};
  auto s = db.create_family(name, family);
  if (!s.ok())
    return {status_code::unavailable, "service " + std::string{service}
                                        + ": its state namespace cannot be created: "
                                        + one_line(s.ToString())};
  return {};
}

} // namespace

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
  if (ns_options.event_type.empty() != ns_options.event_descriptors.empty())
    return {status_code::invalid_argument,
            "service " + std::string{service}
              + ": an event schema needs both its type name and its descriptors"};

  std::lock_guard guard{open_mtx};
  auto* meta = db->family(meta_family_name);
  std::optional<state_schema> state_to_store;
  std::optional<state_schema> events_to_store;
  if (!ns_options.state_type.empty())
    if (auto st = plan_schema(*db, *meta, service,
                              {ns_options.state_type, ns_options.state_descriptors},
                              schema_kind::state, state_to_store);
        !st)
      return st;
  if (ns_options.journal && !ns_options.event_type.empty())
    if (auto st = plan_schema(*db, *meta, service,
                              {ns_options.event_type, ns_options.event_descriptors},
                              schema_kind::events, events_to_store);
        !st)
      return st;

  family_slot* family = nullptr;
  if (auto st = ensure_family(*db, service, state_family_name(service), family); !st)
    return st;
  family_slot* journal = nullptr;
  if (ns_options.journal)
    if (auto st = ensure_family(*db, service, journal_family_name(service), journal); !st)
      return st;
  for (auto [schema, kind] : {std::pair{&state_to_store, schema_kind::state},
                              std::pair{&events_to_store, schema_kind::events}}) {
    if (!*schema)
      continue;
    auto access = db->use();
    if (!access)
      return {status_code::unavailable, "the state store cannot write now"};
    if (auto st = append_schema(*access, meta->handle, service, **schema, kind); !st)
      return st;
  }
  namespaces.open(std::string{service}, family, ns_options, journal);
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

void rocksdb_store::impl::list_keys(std::string_view service, std::string_view after,
                                    std::size_t limit, runtime::state_store::keys_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    done({}, {}, false);  // nothing stored
    return;
  }
  auto shared = std::make_shared<runtime::state_store::keys_callback>(std::move(done));
  readers->submit(read_job{
    [this, family = target->family, journal = target->journal, after = std::string{after},
     limit = std::max<std::size_t>(limit, 1), shared](database& d) {
      runtime::kv_range range;
      auto st = scan_keys(d, *family, {}, after, limit, range, faults);
      std::vector<std::string> keys;
      bool more = st.is_ok() && !range.next.empty();
      if (st.is_ok()) {
        keys.reserve(range.records.size());
        for (auto& record : range.records)
          keys.push_back(std::move(record.key));
      }
      if (st.is_ok() && journal != nullptr) {
        // Keys with a journal but no snapshot yet are keys too: merge both
        // lists, as far as both are complete.
        std::vector<std::string> journaled;
        bool more_journaled = false;
        st = journal_keys(d, *journal, after, limit, journaled, more_journaled, faults);
        if (st.is_ok()) {
          std::optional<std::string> bound;
          if (more && !keys.empty())
            bound = keys.back();
          if (more_journaled && !journaled.empty()
              && (!bound || journaled.back() < *bound))
            bound = journaled.back();
          std::vector<std::string> merged;
          std::set_union(keys.begin(), keys.end(), journaled.begin(), journaled.end(),
                         std::back_inserter(merged));
          if (bound)
            merged.erase(std::upper_bound(merged.begin(), merged.end(), *bound), merged.end());
          more = more || more_journaled;
          if (merged.size() > limit) {
            merged.resize(limit);
            more = true;
          }
          keys = std::move(merged);
        } else {
          keys.clear();
          more = false;
        }
      }
      (*shared)(std::move(st), std::move(keys), more);
    },
    [shared](status refusal) { (*shared)(std::move(refusal), {}, false); }});
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
    done(larger_than_accepted("the state", bytes.size(), options.max_state_bytes));
    return;
  }
  auto w = write_of(*target, key, write_request::kind::save, std::move(done));
  w.replaces = replaces;
  w.bytes = std::move(bytes);
  writer->submit(std::move(w));
}

void rocksdb_store::impl::erase(std::string_view service, std::string_view key,
                                write_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    done({});  // nothing stored: nothing to remove
    return;
  }
  auto w = write_of(*target, key, write_request::kind::erase, std::move(done));
  writer->submit(std::move(w));
}

void rocksdb_store::impl::import_key(std::string_view service, std::string_view key,
                                     runtime::key_image image, write_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    done({status_code::failed_precondition,
          "service " + std::string{service} + " has no state namespace"});
    return;
  }
  if (!image.events.empty()) {
    if (auto refused = journal_refusal(service, target, key); !refused.is_ok()) {
      done(std::move(refused));
      return;
    }
    if (image.first_seq == 0) {
      done({status_code::invalid_argument, "a journal's events are numbered from 1"});
      return;
    }
  }
  std::size_t bytes = image.state.bytes.size();
  for (const auto& e : image.events)
    bytes += e.size();
  if (bytes > options.max_state_bytes * 16) {
    done(larger_than_accepted("the key", bytes, options.max_state_bytes * 16));
    return;
  }
  auto w = write_of(*target, key, write_request::kind::import, std::move(done));
  w.replaces = image.state.version;
  w.bytes = std::move(image.state.bytes);
  w.first_seq = image.first_seq;
  w.events = std::move(image.events);
  writer->submit(std::move(w));
}

// -- event journals -------------------------------------------------------------

void rocksdb_store::impl::append(std::string_view service, std::string_view key,
                                 runtime::journal_append append, write_callback done) {
  auto target = namespaces.find(service);
  if (auto refused = journal_refusal(service, target, key); !refused.is_ok()) {
    done(std::move(refused));
    return;
  }
  if (append.events.empty() || append.first_seq == 0) {
    done({status_code::invalid_argument, "an append needs events, numbered from 1"});
    return;
  }
  std::size_t bytes = append.snapshot ? append.snapshot->size() : 0;
  for (const auto& e : append.events) {
    if (e.size() > options.max_state_bytes) {
      done(larger_than_accepted("an event", e.size(), options.max_state_bytes));
      return;
    }
    bytes += e.size();
  }
  if (bytes > options.max_state_bytes * 4) {
    done(larger_than_accepted("the append", bytes, options.max_state_bytes * 4));
    return;
  }
  auto w = write_of(*target, key, write_request::kind::append, std::move(done));
  w.replaces = append.first_seq - 1;
  w.snapshot = append.snapshot.has_value();
  if (append.snapshot)
    w.bytes = std::move(*append.snapshot);
  w.truncate = append.truncate;
  w.events = std::move(append.events);
  writer->submit(std::move(w));
}

void rocksdb_store::impl::read_events(std::string_view service, std::string_view key,
                                      std::uint64_t from_seq, std::size_t limit,
                                      events_callback done) {
  auto target = namespaces.find(service);
  if (!target || target->journal == nullptr || key.find('\0') != std::string_view::npos) {
    done({}, {});  // nothing was ever journaled there
    return;
  }
  auto shared = std::make_shared<events_callback>(std::move(done));
  readers->submit(read_job{
    [this, journal = target->journal, key = std::string{key}, from_seq, limit,
     shared](database& d) {
      runtime::journal_page page;
      auto st = read_journal(d, *journal, key, from_seq, limit, page, faults);
      if (!st.is_ok())
        page = {};
      (*shared)(std::move(st), std::move(page));
    },
    [shared](status refusal) { (*shared)(std::move(refusal), {}); }});
}

// -- key-value storage ------------------------------------------------------------

void rocksdb_store::impl::scan(std::string_view service, std::string_view prefix,
                               std::string_view after, std::size_t limit, scan_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    done({}, {});  // nothing was ever stored
    return;
  }
  auto shared = std::make_shared<scan_callback>(std::move(done));
  readers->submit(read_job{
    [this, family = target->family, prefix = std::string{prefix}, after = std::string{after},
     limit, shared](database& d) {
      runtime::kv_range range;
      auto st = scan_keys(d, *family, prefix, after, limit, range, faults);
      if (!st.is_ok())
        range = {};
      (*shared)(std::move(st), std::move(range));
    },
    [shared](status refusal) { (*shared)(std::move(refusal), {}); }});
}

void rocksdb_store::impl::write_batch(std::string_view service,
                                      std::vector<runtime::kv_mutation> batch,
                                      write_callback done) {
  auto target = namespaces.find(service);
  if (!target) {
    done({status_code::failed_precondition,
          "service " + std::string{service} + " has no state namespace"});
    return;
  }
  std::size_t bytes = 0;
  for (const auto& m : batch) {
    if (m.value.size() > options.max_state_bytes) {
      done(larger_than_accepted("a value", m.value.size(), options.max_state_bytes));
      return;
    }
    bytes += m.key.size() + m.value.size();
  }
  if (bytes > options.max_state_bytes * 4) {
    done(larger_than_accepted("the batch", bytes, options.max_state_bytes * 4));
    return;
  }
  if (batch.empty()) {
    done({});
    return;
  }
  write_request w;
  w.target = *target;
  w.what = write_request::kind::batch;
  w.mutations = std::move(batch);
  w.done = std::move(done);
  writer->submit(std::move(w));
}

namespace_figures rocksdb_store::impl::figures_of(const namespace_table::entry& e) const {
  namespace_figures out;
  out.service = e.service;
  out.opened = e.opened;
  auto access = db->try_use();
  if (!access)
    return out;
  auto& rdb = *access;
  auto* family = e.ref.family->handle;
  out.keys = int_property(rdb, family, rocksdb::DB::Properties::kEstimateNumKeys);
  out.sst_bytes = int_property(rdb, family, rocksdb::DB::Properties::kLiveSstFilesSize);
  out.live_data_bytes = int_property(rdb, family, rocksdb::DB::Properties::kEstimateLiveDataSize);
  out.memtable_bytes = int_property(rdb, family, rocksdb::DB::Properties::kCurSizeAllMemTables);
  out.pending_compaction_bytes =
    int_property(rdb, family, rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
  std::map<std::string, std::string> stats;
  if (rdb.GetMapProperty(family, rocksdb::DB::Properties::kCFStats, &stats)) {
    out.stall_stops = map_entry(stats, "io_stalls.total_stop");
    out.stall_slowdowns = map_entry(stats, "io_stalls.total_slowdown");
  }
  return out;
}

store_figures rocksdb_store::impl::figures() const {
  store_figures out;
  out.engine = "rocksdb";
  out.directory = dir.string();
  out.checkpoint_running = checkpoint_running.load();
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
  out.last_fault = faults.last();
  if (cache)
    out.memory_bytes = cache->GetUsage();
  auto access = db->try_use();
  if (!access) {
    out.write_stopped = true;
    return out;
  }
  auto& rdb = *access;
  std::uint64_t memtables = 0;
  if (rdb.GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &memtables))
    out.memory_bytes += memtables;
  out.write_stopped = int_property(rdb, nullptr, rocksdb::DB::Properties::kIsWriteStopped) != 0;
  out.delayed_write_rate =
    int_property(rdb, nullptr, rocksdb::DB::Properties::kActualDelayedWriteRate);
  std::map<std::string, std::string> stats;
  if (rdb.GetMapProperty(rocksdb::DB::Properties::kDBStats, &stats))
    out.write_stall_micros = map_entry(stats, "db.user_write_stall_micros");
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
    status result = checkpoint_target_ready(target);
    if (result.is_ok()) {
      auto access = db->use();
      rocksdb::Status s = rocksdb::Status::Incomplete("RocksDB is closed after an error");
      rocksdb::Checkpoint* raw = nullptr;
      if (access)
        s = rocksdb::Checkpoint::Create(&*access, &raw);
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
