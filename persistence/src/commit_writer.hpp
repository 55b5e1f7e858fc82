// The store's one writer thread: takes saves and erases, journal appends and
// key-value batches from a bounded queue and commits them in rounds (group
// commit).
//
// A round is everything queued when the previous round finished, up to
// max_round_writes. Its writes are checked and put into at most two
// WriteBatches — one for namespaces with BATCHED durability, written without
// a sync and acknowledged at once; one for SYNC namespaces, written with
// sync=true (which also syncs the batched writes before it in the WAL) and
// acknowledged after that one sync. So N writers waiting on one sync share
// it, however many they are.
//
// A RocksDB write stall (flushes or compactions behind) holds a round up to
// two seconds; past that its writes are refused as overload.
//
// Versions: the writer is the only thread writing state, so it checks a
// save's `replaces` against the stored version (a point lookup), or against
// the version an earlier write of the same round gives the key, with no lock
// and no cache to keep true: two saves of a key in flight are checked one
// after the other, and the second one's `replaces` no longer matches. The
// same holds for an append's first event number against the journal's last
// (the last event key, found by one reverse seek), and for the versions a
// key-value batch expects. Each request goes into its round's batch whole or
// not at all (a WriteBatch save point), so an append or a key-value batch is
// atomic.
//
// BATCHED writes not yet covered by a sync are synced (an empty synced
// write) once the shortest batch_interval among them has passed: a crash of
// the machine loses at most that interval; a crash of the process loses
// nothing that was written (the WAL is in the OS's page cache).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "database.hpp"
#include "fault_log.hpp"
#include "namespace_table.hpp"
#include "store_counters.hpp"
#include "troupe/runtime/state_store.hpp"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Status;
class WriteBatch;
}

namespace troupe::persistence {

struct write_request {
  enum class kind : std::uint8_t {
    save,    // `bytes` as `key`'s state, version replaces + 1
    erase,   // `key`'s state, and its journal in a journaling namespace
    append,  // `events` to `key`'s journal, with `bytes` as its snapshot when set
    batch,   // `mutations` of the namespace's keys (key-value storage)
    import,  // `bytes` as `key`'s state at version `replaces` (0: none), and
             // `events` as its whole journal from number `first_seq`
  };
  namespace_ref target;
  std::string key;  // all but batches
  kind what = kind::save;
  std::uint64_t replaces = 0;  // saves; appends: the first event's number - 1
  std::string bytes;           // saves; appends: the snapshot
  bool snapshot = false;       // appends: `bytes` is a snapshot to store
  bool truncate = false;       // appends with a snapshot: drop the events before it
  std::vector<std::string> events;               // appends, imports
  std::uint64_t first_seq = 1;                   // imports: the first event's number
  std::vector<runtime::kv_mutation> mutations;   // batches
  runtime::state_store::write_callback done;

  /// The bytes it carries, for the queue's bound.
  std::size_t weight() const noexcept;
};

struct writer_limits {
  std::size_t max_pending_writes;
  std::size_t max_pending_write_bytes;
  std::size_t max_round_writes;
};

class commit_writer {
public:
  commit_writer(database& db, writer_limits limits, store_counters& counters,
                fault_log& faults);
  ~commit_writer();

  commit_writer(const commit_writer&) = delete;
  commit_writer& operator=(const commit_writer&) = delete;

  /// Queues `request`; past a bound, or once stopped, answers it at once on
  /// this thread with unavailable.
  void submit(write_request request);

  /// Refuses new writes, commits every queued one, syncs what is not yet
  /// synced and joins the thread. Idempotent.
  void stop();

  std::size_t pending() const;

private:
  using clock = std::chrono::steady_clock;

  struct batch_of_round;
  struct round_state;

  void run();
  void commit(std::vector<write_request>& round);
  /// Put request `i` of the round, `w`, into `batch`; its outcome when it
  /// cannot be written (nothing of it is then left in the batch).
  status stage_state(round_state& r, std::size_t i, write_request& w, batch_of_round& batch);
  status stage_append(round_state& r, std::size_t i, write_request& w, batch_of_round& batch);
  status stage_import(round_state& r, write_request& w, batch_of_round& batch);
  status stage_mutations(round_state& r, std::size_t i, write_request& w, batch_of_round& batch);
  void sync_batched();
  /// Whether RocksDB takes writes, healing it first when it failed.
  bool healthy();
  /// Writes `batch`, waiting (bounded) through a RocksDB write stall.
  rocksdb::Status write(rocksdb::DB& db, rocksdb::WriteBatch& batch, bool sync,
                        const std::vector<rocksdb::ColumnFamilyHandle*>& families);

  database& db_;
  const writer_limits limits_;
  store_counters& counters_;
  fault_log& faults_;

  mutable std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<write_request> queue_;
  std::size_t queued_bytes_ = 0;
  bool waiting_ = false;  // the writer sleeps on wake_
  bool stopping_ = false;

  // The writer thread's own state.
  std::optional<clock::time_point> sync_due_;  // batched writes not yet synced
  std::chrono::milliseconds unsynced_interval_{0};
  static constexpr std::chrono::milliseconds first_heal_spacing{100};
  clock::time_point next_heal_{};  // healing attempts are spaced out
  std::chrono::milliseconds heal_spacing_ = first_heal_spacing;
  std::unordered_map<std::string, std::uint64_t> round_versions_;

  std::thread thread_;  // last: starts once the rest is ready
};

} // namespace troupe::persistence
