// Where actor state lives between activations. An activation of a keyed
// service loads its key's state when it starts and saves it after a handler
// changed it, before the reply goes out. The runtime declares the store; the
// node's default keeps state in memory (memory_state_store: gone with the
// process), persistence/ implements it on RocksDB, and the program hands the
// node the one to use.
//
// Asynchronous: a store does its work on threads of its own (or at once, when
// it has nothing to wait for) and calls back on any thread, possibly before
// the call returns. A callback only hands the result over — sends it to the
// actor that asked — and never blocks.
//
// Versions: a stored value carries the version of the write that stored it,
// counting from 1. A write names the version it replaces (0: nothing stored),
// and the store refuses it with `aborted` when that is not the stored version,
// so two writers of one key (two activations after a failover, a replica
// applying writes out of order) can never overwrite each other silently.
//
// Two further uses of a namespace, each in a block of its own below:
// - Event journals (keyed services whose state is journaled): per key, events
//   numbered from 1 without gaps, appended only at the next number (a writer
//   that is behind is refused with `aborted`, as a stale version is), and the
//   latest snapshot of the state, which is the key's stored state (load())
//   with the snapshot's event number as its version.
// - Key-value storage (stateless services that declare it): the namespace's
//   keys are the service's own; load() reads one, scan() reads a range by
//   prefix, write_batch() writes several atomically. Each key's version counts
//   its puts, as a state's counts its saves.
// A store that keeps neither answers their operations `unimplemented`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/runtime/state_figures.hpp"
#include "troupe/status.hpp"

namespace troupe::runtime {

/// How a service's state is kept, declared once per service at start.
struct namespace_options {
  /// When a write is acknowledged: `sync` once it is on stable storage;
  /// `batched` once it is in the store's memory, stable within
  /// `batch_interval` (a crash loses at most that much).
  enum class durability { sync, batched };
  durability mode = durability::sync;
  std::chrono::milliseconds batch_interval{100};

  /// The state message's schema, kept beside the data so that a version of
  /// the service whose state message cannot read what is stored is refused
  /// here, at start, rather than at its first call: the message's full name
  /// and a serialized google.protobuf.FileDescriptorSet holding its file and
  /// every file that file imports, directly or not. Empty: nothing to check
  /// (the memory store ignores both).
  std::string state_type;
  std::string state_descriptors;

  // -- event journals ---------------------------------------------------------
  /// The namespace keeps event journals beside the keys' states (snapshots).
  bool journal = false;
  /// The event message's schema, as state_type and state_descriptors: a
  /// store refuses an event message that cannot read the events stored.
  std::string event_type;
  std::string event_descriptors;
};

// -- event journals -------------------------------------------------------------

/// One stored event of a key's journal.
struct journal_event {
  std::uint64_t seq = 0;  // from 1, without gaps
  std::string bytes;      // the serialized event message
};

/// A page of a key's journal, in order.
struct journal_page {
  std::vector<journal_event> events;
  /// Events follow the last of `events` (a page ends at its limit, or after
  /// the event that takes it past page_bytes_bound).
  bool more = false;
};

/// The bytes after which a page of a journal or a scan ends early.
inline constexpr std::size_t page_bytes_bound = std::size_t{4} << 20;

/// What one append writes, all of it or nothing.
struct journal_append {
  /// The number of the first event: the journal's last number + 1.
  std::uint64_t first_seq = 1;
  std::vector<std::string> events;  // at least one
  /// The state after the last of `events`, stored as the key's snapshot
  /// (its stored state, version first_seq + events.size() - 1); none: the
  /// snapshot stays as it is.
  std::optional<std::string> snapshot;
  /// With a snapshot: removes the events before the snapshot's number, so
  /// that the journal keeps the events from the snapshot on.
  bool truncate = false;
};

// -- key-value storage ------------------------------------------------------------

/// One key of a key-value namespace as stored.
struct kv_record {
  std::string key;
  std::uint64_t version = 0;  // 0: absent
  std::string value;
};

/// One operation of a write_batch().
struct kv_mutation {
  enum class kind : std::uint8_t { put, erase };
  kind what = kind::put;
  std::string key;
  std::string value;  // put
  /// The version the key must have (0: absent) for the batch to be written;
  /// none: any.
  std::optional<std::uint64_t> expected;
};

/// One page of a scan(), in key order.
struct kv_range {
  std::vector<kv_record> records;
  /// The last key of the page when keys follow it (the page ended at its
  /// limit, or after the record that took it past page_bytes_bound): the
  /// next page starts after it. Empty when the range ends with this page.
  std::string next;
};

/// One key's state as stored.
struct stored_state {
  std::uint64_t version = 0;  // 0: nothing stored
  std::string bytes;          // the serialized state message
};

/// Everything a store holds of one key of a keyed service: what moves with
/// the key when another node takes it over.
struct key_image {
  stored_state state;  // a journaled key's latest snapshot; version 0: none
  /// In a journaling namespace, the key's journal as stored: numbered from
  /// `first_seq` without gaps (from the snapshot's own event on after a
  /// truncation). Empty: no journal.
  std::uint64_t first_seq = 1;
  std::vector<std::string> events;
};

class state_store {
public:
  using load_callback = std::function<void(status, stored_state)>;
  /// ok: the write is as durable as the store promises.
  using write_callback = std::function<void(status)>;
  /// One page of keys, in bytewise order; `more`: keys follow the last one.
  using keys_callback = std::function<void(status, std::vector<std::string> keys, bool more)>;

  virtual ~state_store();

  /// Prepares `service`'s namespace before its first load or write; at
  /// start, on the starting thread (it may block). An error stops the start
  /// (e.g. stored data this service cannot read).
  virtual status open_namespace(std::string_view service, const namespace_options& options) = 0;

  /// The state of `key` in `service`'s namespace; version 0 when none.
  virtual void load(std::string_view service, std::string_view key, load_callback done) = 0;

  /// Stores `bytes` as version `replaces + 1`. Fails with aborted when the
  /// stored version is not `replaces`, resource_exhausted when the store is
  /// full, unavailable when it cannot write now; the stored state is then
  /// unchanged.
  virtual void save(std::string_view service, std::string_view key, std::uint64_t replaces,
                    std::string bytes, write_callback done)
    = 0;

  /// Removes the state of `key` (nothing stored is not an error); in a
  /// journaling namespace its journal too.
  virtual void erase(std::string_view service, std::string_view key, write_callback done) = 0;

  // -- event journals ---------------------------------------------------------

  using events_callback = std::function<void(status, journal_page)>;

  /// Appends `append.events` to `key`'s journal as numbers first_seq,
  /// first_seq + 1, ..., with the snapshot when one is given, atomically and
  /// as durably as the namespace's durability says. Fails with aborted when
  /// the journal's last number is not first_seq - 1 (another writer got
  /// there first, or the journal was erased), resource_exhausted when the
  /// store is full or an event or snapshot is too large, unavailable when
  /// it cannot write now; nothing is written then.
  virtual void append(std::string_view service, std::string_view key, journal_append append,
                      write_callback done);

  /// The events of `key`'s journal numbered `from_seq` and after, in order,
  /// at most `limit` of them (see journal_page). Events removed by a
  /// truncation are skipped: the first may be numbered after from_seq.
  virtual void read_events(std::string_view service, std::string_view key,
                           std::uint64_t from_seq, std::size_t limit, events_callback done);

  // -- key-value storage ------------------------------------------------------

  using scan_callback = std::function<void(status, kv_range)>;

  /// The keys of `service`'s namespace that start with `prefix`, in byte
  /// order, after `after` (empty: from the first), at most `limit`.
  virtual void scan(std::string_view service, std::string_view prefix, std::string_view after,
                    std::size_t limit, scan_callback done);

  /// Writes `batch` atomically: every put (as its key's next version) and
  /// erase, or, when a key is not at the version an operation expects
  /// (aborted) or the store cannot write, none of them.
  virtual void write_batch(std::string_view service, std::vector<kv_mutation> batch,
                           write_callback done);
  // -- operating the store: what the admin API shows and does ----------------
  // Off the call path; each has a default for a store with nothing to show or
  // do. The figures are asked for on the gateway's I/O threads: they answer
  // from what the store has at hand and never wait for its threads.

  /// The store's figures now.
  virtual store_figures figures() const;

  /// The figures of `service`'s namespace; nullopt when the store holds none
  /// for it.
  virtual std::optional<namespace_figures> figures(std::string_view service) const;

  /// Writes a consistent copy of everything acknowledged so far into the
  /// directory `dir` (a path) while the store keeps serving, for a later start from it (a backup);
  /// `done` runs once, on a thread of the store's, when the copy is complete
  /// or has failed. `dir` must be missing or an empty directory
  /// (already_exists otherwise) in a directory that exists
  /// (invalid_argument); one at a time (unavailable while another runs).
  /// Default: failed_precondition, the store has nothing to copy.
  virtual void checkpoint(std::string dir, std::function<void(status)> done);
  // -- moving keys between nodes ----------------------------------------------

  /// Up to `limit` keys of `service`'s namespace that sort after `after`
  /// (bytewise; empty: from the first): keys with a stored state and, in a
  /// journaling namespace, keys with a journal. A cluster lists the keys a
  /// node holds to hand the ones that move over to their new node. The
  /// default answers unimplemented.
  virtual void list_keys(std::string_view service, std::string_view after, std::size_t limit,
                         keys_callback done);

  /// Replaces everything stored of `key` with `image`, atomically and as
  /// durably as a save: its state with image.state, keeping its version
  /// (version 0: no state), and in a journaling namespace its journal with
  /// image.events, keeping their numbers. What a key's new holder writes
  /// when the key is handed over to it, before it serves the key. A journal
  /// with a snapshot must hold the snapshot's own event (as a truncated
  /// journal does), or the key's next append is refused. Fails with
  /// resource_exhausted when the image is larger than the store accepts,
  /// unavailable when it cannot write now; nothing is written then. The
  /// default answers unimplemented.
  virtual void import_key(std::string_view service, std::string_view key, key_image image,
                          write_callback done);
};

} // namespace troupe::runtime
