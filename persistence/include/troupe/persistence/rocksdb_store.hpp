// The durable state_store: every service's state in one RocksDB under one
// directory (the node's DIR/state), each service in a column family of its
// own, so that one service can neither read nor damage another's data.
//
// On disk (docs/architecture.md, "persistence/"):
//   DIR/FORMAT            "troupe state store\nformat 1\n": this layer's own
//                         identity; a directory without it, or with another
//                         format, is refused, never re-initialised
//   DIR/<RocksDB files>   column families:
//     "state:<service>"   key: the actor key's bytes, as given
//                         value: [u8 value format = 1]
//                                [u64 version, little endian]
//                                [the state message's bytes]
//                         A journaling service: the key's latest snapshot,
//                         its version the number of its last event.
//                         A stateless service's key-value storage: its keys,
//                         each value's version counting the key's puts.
//     "journal:<service>" journaling services only (opened with
//                         namespace_options::journal):
//                         key: [actor key][u8 0][u64 event number, big endian]
//                         value: [u8 event format = 1][the event's bytes]
//                         A key's events are one ordered range; actor keys
//                         with a zero byte are refused there.
//     "meta"              "schema/<service>/<u64 big-endian sequence>" ->
//                         [u8 = 1][u32 LE length of the type name]
//                         [type name][serialized FileDescriptorSet]
//                         one record per distinct schema ever opened;
//                         "event-schema/<service>/..." the same for events
//     "default"           unused (RocksDB's own)
//
// Threads: one writer thread owns every write (save, erase, append, key-value
// batch) and commits them in rounds — all writes queued while the previous
// round was syncing go into one WriteBatch per durability class and share one
// WAL sync (group commit). Being the only writer, it checks each save's
// version against the stored one (or one written earlier in the same round),
// each append's first event number against the journal's last, and each
// conditional key-value write's expected version, without locks, so two
// writers of a key in flight can never both succeed. An append (its events,
// snapshot and truncation) and a key-value batch are written whole or not at
// all. A small pool of reader threads serves loads with point lookups, and
// journal reads and scans with one iterator each, a bounded page at a time.
// Callbacks run on those threads; they must only hand the result over (never
// block, never throw).
//
// Bounds: queued loads, queued writes and their bytes are bounded
// (store_options); a call past a bound is answered at once, on the caller's
// thread, with `unavailable` ("the state store is overloaded").
//
// Failures: a write that RocksDB cannot do (disk full, I/O error) answers its
// callers `unavailable` and leaves acknowledged data as it was; loads go on.
// The writer brings RocksDB back before a later round — a reopen, once the
// disk takes writes again — without a restart. A RocksDB write stall holds a
// round two seconds at most; then its writes are refused as overload.
// A store that cannot be opened throws storage_error; an open store answers
// every call with a status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/runtime/state_store.hpp"

namespace troupe::persistence {

/// Why a store could not be opened, restored or created; what() is one line
/// naming the directory and the fault, for the operator.
class storage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// RocksDB's settings and the store's own bounds. The defaults suit a node
/// with a few GB of memory; the program maps its configuration onto these.
struct store_options {
  enum class compression { none, snappy, lz4, zstd };

  /// Cache of uncompressed blocks read from disk, shared by all namespaces.
  std::size_t block_cache_bytes = std::size_t{64} << 20;
  /// Memtables of all namespaces together; past it the largest is flushed.
  std::size_t memtable_bytes = std::size_t{64} << 20;
  compression block_compression = compression::lz4;
  /// WAL files past this total make RocksDB flush the memtables that keep
  /// the oldest WAL alive, so that recovery after a crash stays short.
  std::uint64_t max_wal_bytes = std::uint64_t{256} << 20;

  /// Threads serving loads (at least one).
  std::size_t reader_threads = 2;
  /// Loads queued and not yet started; one more is refused.
  std::size_t max_pending_reads = 4096;
  /// Writes (saves and erases) queued and not yet committed, and the bytes
  /// they carry; one more is refused.
  std::size_t max_pending_writes = 4096;
  std::size_t max_pending_write_bytes = std::size_t{64} << 20;
  /// Writes one commit round takes at most: bounds how long the writes of a
  /// round wait for each other.
  std::size_t max_round_writes = 1024;
  /// A save of more bytes than this is refused with resource_exhausted.
  std::size_t max_state_bytes = std::size_t{4} << 20;

  /// Told one line about each storage fault (a failed write round, a failed
  /// sync, a background error), on the store's threads; for the node's log.
  /// Must not block. Callers only see `unavailable`.
  std::function<void(const std::string&)> on_fault;
};

/// The figures of one namespace (RocksDB's properties of its column family)
/// and of the store (runtime/state_figures.hpp).
using runtime::namespace_figures;
using runtime::store_figures;

class rocksdb_store final : public runtime::state_store {
public:
  struct impl;

  /// Opens the store in `dir`, creating it when `dir` is missing or empty.
  /// Throws storage_error when `dir` is not a store of this format, is in use
  /// by another process, cannot be written, or is corrupt; it is left as it
  /// was.
  explicit rocksdb_store(const std::filesystem::path& dir, store_options options = {});
  /// Takes a store opened by the internals (tests open one on a fault-
  /// injecting file system this way).
  explicit rocksdb_store(std::unique_ptr<impl> opened);
  /// Refuses new calls, finishes the queued ones (their callbacks run),
  /// syncs what BATCHED namespaces wrote, and closes RocksDB.
  ~rocksdb_store() override;

  rocksdb_store(const rocksdb_store&) = delete;
  rocksdb_store& operator=(const rocksdb_store&) = delete;

  /// Creates the service's column family when it is new, and checks the
  /// state schema in `options` (when given) against every schema stored for
  /// the service before: failed_precondition, naming the field, when the new
  /// state message cannot read state written with one of them. A compatible
  /// new schema is stored beside the others. May block (start only).
  status open_namespace(std::string_view service,
                        const runtime::namespace_options& options) override;

  /// A namespace that exists on disk is used without open_namespace (with
  /// SYNC durability), so that operators reach the state of services not
  /// loaded now. A service with no namespace at all has nothing stored
  /// (loads give version 0, erases succeed); its saves fail with
  /// failed_precondition.
  void load(std::string_view service, std::string_view key, load_callback done) override;
  void save(std::string_view service, std::string_view key, std::uint64_t replaces,
            std::string bytes, write_callback done) override;
  void erase(std::string_view service, std::string_view key, write_callback done) override;
  /// A page of keys, from a reader thread (iterators over the namespace and
  /// its journals).
  void list_keys(std::string_view service, std::string_view after, std::size_t limit,
                 keys_callback done) override;
  /// One write of the writer thread, as a save. An image larger than
  /// 16 × max_state_bytes is refused (resource_exhausted).
  void import_key(std::string_view service, std::string_view key, runtime::key_image image,
                  write_callback done) override;

  // -- event journals ---------------------------------------------------------
  /// Appends and reads fail with invalid_argument for a key holding a zero
  /// byte; an append larger than 4 × max_state_bytes (or one event or
  /// snapshot larger than max_state_bytes) with resource_exhausted.
  void append(std::string_view service, std::string_view key, runtime::journal_append append,
              write_callback done) override;
  void read_events(std::string_view service, std::string_view key, std::uint64_t from_seq,
                   std::size_t limit, events_callback done) override;

  // -- key-value storage ------------------------------------------------------
  /// A value larger than max_state_bytes, or a batch larger than 4 ×
  /// max_state_bytes, fails with resource_exhausted.
  void scan(std::string_view service, std::string_view prefix, std::string_view after,
            std::size_t limit, scan_callback done) override;
  void write_batch(std::string_view service, std::vector<runtime::kv_mutation> batch,
                   write_callback done) override;

  /// Every namespace stored, opened in this run or not, sorted.
  std::vector<std::string> namespaces() const;
  /// RocksDB's properties of the namespace's column family; nullopt when it
  /// has none. While RocksDB is being reopened after a fault, only the
  /// service's name and `opened`.
  std::optional<namespace_figures> figures(std::string_view service) const override;
  /// The store's counters and RocksDB's figures (engine "rocksdb"); while
  /// RocksDB is being reopened after a fault, the counters with
  /// write_stopped set. Lists the directory for disk_bytes.
  store_figures figures() const override;

  /// Writes a consistent copy of everything acknowledged so far into `dir`
  /// (missing or an empty directory, in a directory that exists; hard links
  /// where `dir` is on the same file system) while the store keeps serving,
  /// on a thread of its own; `done` runs there. One at a time: unavailable
  /// while another runs. `dir` can be opened as a store after restore_from().
  void checkpoint(std::string dir, std::function<void(status)> done) override;

  const std::filesystem::path& directory() const noexcept;

private:
  std::unique_ptr<impl> impl_;
};

/// Makes `data_dir` (the store's directory, not yet opened) a copy of the
/// checkpoint in `checkpoint_dir`. Refuses (storage_error) a `data_dir` that
/// exists and is not empty, and a checkpoint that is not one of this format
/// or cannot be opened; the copy appears under `data_dir` only once complete.
void restore_from(const std::filesystem::path& checkpoint_dir,
                  const std::filesystem::path& data_dir);

} // namespace troupe::persistence
