// What a state store tells operators about itself (state_store::figures):
// the admin API shows these per service and for the node. A store fills in
// what it keeps and leaves the rest zero; estimates where its engine
// estimates (RocksDB counts keys and live bytes approximately).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace troupe::runtime {

/// One service's namespace.
struct namespace_figures {
  std::string service;
  bool opened = false;                      // open_namespace was called in this run
  std::uint64_t keys = 0;                   // keys stored
  std::uint64_t sst_bytes = 0;              // its table files on disk
  std::uint64_t live_data_bytes = 0;        // the bytes its keys and values take
  std::uint64_t memtable_bytes = 0;         // written, not yet in a table file
  std::uint64_t pending_compaction_bytes = 0;
  std::uint64_t stall_stops = 0;            // writes stopped for it, since open
  std::uint64_t stall_slowdowns = 0;        // writes slowed down for it, since open
};

/// The whole store, since it was opened.
struct store_figures {
  std::string engine;                       // "rocksdb", "memory"
  std::string directory;                    // where it keeps its files; empty: none
  std::uint64_t disk_bytes = 0;             // every file under the directory
  std::uint64_t memory_bytes = 0;           // held in memory: memtables and cache, or the data
  std::size_t pending_reads = 0;            // queued loads
  std::size_t pending_writes = 0;           // queued saves and erases
  std::uint64_t commit_rounds = 0;          // write batches committed
  std::uint64_t wal_syncs = 0;              // syncs of the write-ahead log asked for
  std::uint64_t writes_committed = 0;
  std::uint64_t writes_refused_stale = 0;   // aborted: another version was stored
  std::uint64_t writes_failed = 0;          // unavailable: the disk could not write
  std::uint64_t refused_overloaded = 0;     // loads and writes refused at a bound
  bool write_stopped = false;               // writes are stopped now (stall or fault)
  std::uint64_t delayed_write_rate = 0;     // bytes/s writes are slowed to; 0: none
  std::uint64_t write_stall_micros = 0;     // time writes waited in stalls
  std::string last_fault;                   // the last storage fault; empty: none
  bool checkpoint_running = false;          // a checkpoint (backup) is being written
};

} // namespace troupe::runtime
