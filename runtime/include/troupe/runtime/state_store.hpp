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
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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
};

/// One key's state as stored.
struct stored_state {
  std::uint64_t version = 0;  // 0: nothing stored
  std::string bytes;          // the serialized state message
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

  /// Removes the state of `key` (nothing stored is not an error).
  virtual void erase(std::string_view service, std::string_view key, write_callback done) = 0;

  /// Up to `limit` keys of `service`'s namespace that sort after `after`
  /// (bytewise; empty: from the first). A cluster lists the keys a node holds
  /// to hand the ones that move over to their new node. The default answers
  /// unimplemented.
  virtual void list_keys(std::string_view service, std::string_view after, std::size_t limit,
                         keys_callback done);
};

} // namespace troupe::runtime
