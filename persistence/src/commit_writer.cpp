#include "commit_writer.hpp"

#include <algorithm>
#include <limits>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "value_codec.hpp"

namespace troupe::persistence {

namespace {

status overloaded() {
  return {status_code::unavailable, "the state store is overloaded"};
}

status closed() {
  return {status_code::unavailable, "the state store is closed"};
}

constexpr auto last_heal_spacing = std::chrono::milliseconds{5000};
// How long a round waits in a RocksDB write stall before its writes are
// refused as overload, and how often it asks for a flush meanwhile.
constexpr auto stall_limit = std::chrono::seconds{2};
constexpr auto stall_nudge = std::chrono::milliseconds{100};
constexpr auto stall_pause = std::chrono::milliseconds{1};

status cannot_write() {
  return {status_code::unavailable, "the state store cannot write now"};
}

status stale(std::uint64_t stored, std::uint64_t expected) {
  return {status_code::aborted, "the state was written by another writer (version "
                                  + std::to_string(stored) + ", expected "
                                  + std::to_string(expected) + ")"};
}

/// The round's key for a (family, key) pair.
std::string slot_of(std::uint32_t family_id, const std::string& key) {
  std::string slot(reinterpret_cast<const char*>(&family_id), sizeof family_id);
  slot += key;
  return slot;
}

/// One of a round's two batches and the writes in it.
struct batch_of_round {
  rocksdb::WriteBatch batch;
  std::vector<rocksdb::ColumnFamilyHandle*> families;  // written to
  std::vector<std::size_t> writes;        // indexes into the round
  std::vector<std::size_t> refused_after; // refused against one of this batch's writes
  rocksdb::Status outcome;
};

} // namespace

commit_writer::commit_writer(database& db, writer_limits limits, store_counters& counters,
                             fault_log& faults)
  : db_(db), limits_(limits), counters_(counters), faults_(faults) {
  thread_ = std::thread{[this] { run(); }};
}

commit_writer::~commit_writer() {
  stop();
}

void commit_writer::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

std::size_t commit_writer::pending() const {
  std::lock_guard guard{mtx_};
  return queue_.size();
}

void commit_writer::submit(write_request request) {
  status refusal;
  bool wake = false;
  {
    std::lock_guard guard{mtx_};
    if (stopping_) {
      refusal = closed();
    } else if (queue_.size() >= limits_.max_pending_writes
               || queued_bytes_ + request.bytes.size() > limits_.max_pending_write_bytes) {
      refusal = overloaded();
      store_counters::add(counters_.refused_overloaded);
    } else {
      queued_bytes_ += request.bytes.size();
      wake = waiting_;
      waiting_ = false;
      queue_.push_back(std::move(request));
    }
  }
  if (!refusal.is_ok()) {
    request.done(std::move(refusal));
    return;
  }
  if (wake)
    wake_.notify_one();
}

void commit_writer::run() {
  std::vector<write_request> round;
  round.reserve(limits_.max_round_writes);
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock{mtx_};
      while (queue_.empty() && !stopping_ && !(sync_due_ && clock::now() >= *sync_due_)) {
        waiting_ = true;
        if (sync_due_)
          wake_.wait_until(lock, *sync_due_);
        else
          wake_.wait(lock);
        waiting_ = false;
      }
      auto n = std::min(queue_.size(), limits_.max_round_writes);
      for (std::size_t i = 0; i < n; ++i) {
        queued_bytes_ -= queue_.front().bytes.size();
        round.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stopping_ && queue_.empty();
    }
    if (!round.empty())
      commit(round);
    round.clear();
    if (sync_due_ && (stopping || clock::now() >= *sync_due_))
      sync_batched();
    if (stopping)
      return;
  }
}

rocksdb::Status commit_writer::write(rocksdb::DB& db, rocksdb::WriteBatch& batch, bool sync,
                                     const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
  // no_slowdown: RocksDB refuses (Incomplete) rather than blocks a write it
  // would stall, and nothing of it is applied. The writer then waits here,
  // bounded, asking for a flush now and then: a stall whose flush never got
  // scheduled (seen after recovering from a full disk) would otherwise hold
  // the writer thread, and every write queued behind it, for good.
  rocksdb::WriteOptions options;
  options.sync = sync;
  options.no_slowdown = true;
  auto give_up = clock::now() + stall_limit;
  auto next_nudge = clock::now();
  for (;;) {
    auto s = db.Write(options, &batch);
    if (!s.IsIncomplete() || clock::now() >= give_up)
      return s;
    if (clock::now() >= next_nudge && !families.empty()) {
      rocksdb::FlushOptions flush;
      flush.wait = false;
      flush.allow_write_stall = true;
      db.Flush(flush, families).PermitUncheckedError();
      next_nudge = clock::now() + stall_nudge;
    }
    std::this_thread::sleep_for(stall_pause);
  }
}

bool commit_writer::healthy() {
  if (!db_.needs_healing())
    return true;
  auto now = clock::now();
  if (now < next_heal_)
    return false;
  if (db_.heal()) {
    heal_spacing_ = first_heal_spacing;
    return true;
  }
  // Each attempt may replay the WAL: spaced out further while they fail.
  next_heal_ = now + heal_spacing_;
  heal_spacing_ = std::min(heal_spacing_ * 2, last_heal_spacing);
  return false;
}

void commit_writer::commit(std::vector<write_request>& round) {
  // While RocksDB cannot write, the round fails at once; healing is tried
  // again when writes come, spaced out while it fails.
  bool writable = healthy();
  auto db = db_.use();
  if (!writable || !db) {
    db = {};
    store_counters::add(counters_.writes_failed, round.size());
    for (auto& w : round)
      w.done(cannot_write());
    return;
  }

  std::vector<status> results(round.size());
  batch_of_round sync_batch;
  batch_of_round batched;
  // Which batch wrote a slot's version in this round (for refusals that
  // depend on a write that might still fail).
  std::unordered_map<std::string, batch_of_round*> written_by;
  round_versions_.clear();
  auto interval = std::chrono::milliseconds::max();

  rocksdb::ReadOptions read;
  rocksdb::PinnableSlice value;
  for (std::size_t i = 0; i < round.size(); ++i) {
    auto& w = round[i];
    auto* family = w.target.family->handle;
    auto slot = slot_of(family->GetID(), w.key);
    auto& batch = w.target.sync ? sync_batch : batched;

    std::uint64_t current = 0;
    batch_of_round* current_from = nullptr;
    if (auto known = round_versions_.find(slot); known != round_versions_.end()) {
      current = known->second;
      current_from = written_by[slot];
    } else {
      value.Reset();
      auto s = db->Get(read, family, w.key, &value);
      if (s.ok()) {
        auto decoded = decode_value({value.data(), value.size()});
        if (!decoded) {
          results[i] = {status_code::data_loss,
                        "the stored state is not in a format this version reads"};
          continue;
        }
        current = decoded->version;
      } else if (!s.IsNotFound()) {
        faults_.report("state store: reading a version before a write failed: "
                       + one_line(s.ToString()));
        results[i] = s.IsCorruption()
                       ? status{status_code::data_loss, "the stored state is damaged"}
                       : cannot_write();
        continue;
      }
    }

    if (!w.erase) {
      if (current != w.replaces) {
        results[i] = stale(current, w.replaces);
        if (current_from != nullptr)
          current_from->refused_after.push_back(i);
        continue;
      }
      if (w.replaces == std::numeric_limits<std::uint64_t>::max()) {
        results[i] = {status_code::out_of_range, "the state's version cannot grow further"};
        continue;
      }
    }
    auto s = w.erase ? batch.batch.Delete(family, w.key)
                     : batch.batch.Put(family, w.key, encode_value(w.replaces + 1, w.bytes));
    if (!s.ok()) {
      results[i] = {status_code::invalid_argument, "the state cannot be stored"};
      continue;
    }
    round_versions_[slot] = w.erase ? 0 : w.replaces + 1;
    written_by[slot] = &batch;
    batch.writes.push_back(i);
    if (std::find(batch.families.begin(), batch.families.end(), family) == batch.families.end())
      batch.families.push_back(family);
    if (!w.target.sync)
      interval = std::min(interval, w.target.batch_interval);
  }

  // Batched first: the synced write after it covers it in the WAL.
  for (auto* b : {&batched, &sync_batch}) {
    if (b->writes.empty())
      continue;
    bool sync = (b == &sync_batch);
    b->outcome = write(*db, b->batch, sync, b->families);
    store_counters::add(counters_.commit_rounds);
    if (sync)
      store_counters::add(counters_.wal_syncs);
    if (b->outcome.ok()) {
      store_counters::add(counters_.writes_committed, b->writes.size());
      if (sync) {
        sync_due_.reset();  // everything before this write is synced with it
      } else {
        unsynced_interval_ = sync_due_ ? std::min(unsynced_interval_, interval) : interval;
        auto due = clock::now() + interval;
        if (!sync_due_ || due < *sync_due_)
          sync_due_ = due;
      }
    } else if (b->outcome.IsIncomplete()) {
      store_counters::add(counters_.refused_overloaded, b->writes.size());
      faults_.report("state store: RocksDB stalled writes longer than the store waits: "
                     + one_line(b->outcome.ToString()));
    } else {
      db_.need_healing();
      store_counters::add(counters_.writes_failed, b->writes.size());
      faults_.report("state store: writes failed: " + one_line(b->outcome.ToString()));
    }
    auto failure = b->outcome.IsIncomplete() ? overloaded() : cannot_write();
    for (auto i : b->writes)
      results[i] = b->outcome.ok() ? status{} : failure;
    // A refusal against a version that was not stored after all is no
    // conflict the caller could resolve by reloading: it could not write.
    for (auto i : b->refused_after)
      if (!b->outcome.ok())
        results[i] = failure;
  }
  db = {};  // callbacks run without the lock

  for (std::size_t i = 0; i < round.size(); ++i) {
    if (results[i].code() == status_code::aborted)
      store_counters::add(counters_.writes_refused_stale);
    round[i].done(std::move(results[i]));
  }
}

void commit_writer::sync_batched() {
  // An empty batch written with sync=true syncs the WAL like SyncWAL()
  // does, but goes through RocksDB's write path, which refuses while a
  // background error stands. SyncWAL() would sync a WAL file that has just
  // failed a write, which RocksDB 7.8 asserts never happens (and Debian's
  // build keeps assertions).
  rocksdb::Status s = rocksdb::Status::Incomplete("RocksDB cannot write now");
  if (healthy()) {
    if (auto db = db_.use()) {
      rocksdb::WriteBatch empty;
      s = write(*db, empty, true, {});
      store_counters::add(counters_.wal_syncs);
    }
  }
  if (s.ok()) {
    sync_due_.reset();
    return;
  }
  db_.need_healing();
  faults_.report("state store: syncing the WAL failed: " + one_line(s.ToString()));
  sync_due_ = clock::now() + std::max(unsynced_interval_, heal_spacing_);
}

} // namespace troupe::persistence
