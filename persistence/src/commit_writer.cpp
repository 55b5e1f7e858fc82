#include "commit_writer.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "journal_codec.hpp"
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

} // namespace

/// One of a round's two batches and the writes in it.
struct commit_writer::batch_of_round {
  rocksdb::WriteBatch batch;
  std::vector<rocksdb::ColumnFamilyHandle*> families;  // written to
  std::vector<std::size_t> writes;        // indexes into the round
  std::vector<std::size_t> refused_after; // refused against one of this batch's writes
  rocksdb::Status outcome;
};

/// A round being staged: its two batches, each request's outcome, and the
/// versions (and journals' last event numbers) as the requests staged so far
/// leave them.
struct commit_writer::round_state {
  round_state(rocksdb::DB& d, fault_log& f, std::unordered_map<std::string, std::uint64_t>& v,
              std::size_t requests)
    : db(d), faults(f), versions(v), results(requests) {
  }

  rocksdb::DB& db;
  fault_log& faults;
  std::unordered_map<std::string, std::uint64_t>& versions;  // by slot_of()
  std::vector<status> results;
  batch_of_round sync_batch;
  batch_of_round batched;
  std::chrono::milliseconds interval = std::chrono::milliseconds::max();
  // Which batch wrote a slot's version in this round (for refusals that
  // depend on a write that might still fail).
  std::unordered_map<std::string, batch_of_round*> written_by;
  // Staged by the request now being staged, until it is in the batch whole.
  std::vector<std::pair<std::string, std::uint64_t>> staged;

  /// The version of `key` in `family` (0: absent): as this round's staged
  /// writes leave it, else as stored. `from`: the batch of the round that
  /// wrote it; null when it is the stored one.
  status version_of(rocksdb::ColumnFamilyHandle* family, const std::string& key,
                    std::uint64_t& version, batch_of_round*& from) {
    auto slot = slot_of(family->GetID(), key);
    if (auto known = versions.find(slot); known != versions.end()) {
      version = known->second;
      from = written_by[slot];
      return {};
    }
    from = nullptr;
    value.Reset();
    auto s = db.Get(rocksdb::ReadOptions{}, family, key, &value);
    if (s.IsNotFound()) {
      version = 0;
      return {};
    }
    if (!s.ok()) {
      faults.report("state store: reading a version before a write failed: "
                    + one_line(s.ToString()));
      return s.IsCorruption() ? status{status_code::data_loss, "the stored state is damaged"}
                              : cannot_write();
    }
    auto decoded = decode_value({value.data(), value.size()});
    if (!decoded)
      return {status_code::data_loss, "the stored state is not in a format this version reads"};
    version = decoded->version;
    return {};
  }

  /// The number of the last event of `key`'s journal in the family
  /// `journal` (0: none), as version_of() gives versions.
  status journal_head(rocksdb::ColumnFamilyHandle* journal, const std::string& key,
                      std::uint64_t& last, batch_of_round*& from) {
    auto slot = slot_of(journal->GetID(), key);
    if (auto known = versions.find(slot); known != versions.end()) {
      last = known->second;
      from = written_by[slot];
      return {};
    }
    from = nullptr;
    last = 0;
    auto lower = event_key(key, 0);
    rocksdb::ReadOptions options;
    rocksdb::Slice lower_bound{lower};
    options.iterate_lower_bound = &lower_bound;
    std::unique_ptr<rocksdb::Iterator> it{db.NewIterator(options, journal)};
    it->SeekForPrev(event_key(key, std::numeric_limits<std::uint64_t>::max()));
    if (it->Valid()) {
      auto seq = event_seq(it->key().ToStringView(), key);
      if (!seq)
        return {status_code::data_loss, "the stored journal is damaged"};
      last = *seq;
    } else if (!it->status().ok()) {
      faults.report("state store: reading a journal before an append failed: "
                    + one_line(it->status().ToString()));
      return it->status().IsCorruption()
               ? status{status_code::data_loss, "the stored journal is damaged"}
               : cannot_write();
    }
    return {};
  }

  /// Notes that the request being staged leaves `key` of `family` at
  /// `version`.
  void stage(rocksdb::ColumnFamilyHandle* family, const std::string& key, std::uint64_t version) {
    staged.emplace_back(slot_of(family->GetID(), key), version);
  }

  /// The request being staged is in `batch`, whole: what it staged counts.
  void commit_staged(const namespace_ref& target, batch_of_round& b) {
    for (auto& [slot, version] : staged) {
      versions[slot] = version;
      written_by[slot] = &b;
    }
    staged.clear();
    for (auto* f : {target.family, target.journal}) {
      if (f == nullptr)
        continue;
      if (std::find(b.families.begin(), b.families.end(), f->handle) == b.families.end())
        b.families.push_back(f->handle);
    }
    if (!target.sync)
      interval = std::min(interval, target.batch_interval);
  }

private:
  rocksdb::PinnableSlice value;
};

std::size_t write_request::weight() const noexcept {
  std::size_t n = key.size() + bytes.size();
  for (const auto& e : events)
    n += e.size();
  for (const auto& m : mutations)
    n += m.key.size() + m.value.size();
  return n;
}

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
               || queued_bytes_ + request.weight() > limits_.max_pending_write_bytes) {
      refusal = overloaded();
      store_counters::add(counters_.refused_overloaded);
    } else {
      queued_bytes_ += request.weight();
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
        queued_bytes_ -= queue_.front().weight();
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

  round_versions_.clear();
  round_state r{*db, faults_, round_versions_, round.size()};
  for (std::size_t i = 0; i < round.size(); ++i) {
    auto& w = round[i];
    auto& batch = w.target.sync ? r.sync_batch : r.batched;
    // A request goes into the batch whole or not at all.
    batch.batch.SetSavePoint();
    switch (w.what) {
      case write_request::kind::save:
      case write_request::kind::erase:
        r.results[i] = stage_state(r, i, w, batch);
        break;
      case write_request::kind::append:
        r.results[i] = stage_append(r, i, w, batch);
        break;
      case write_request::kind::batch:
        r.results[i] = stage_mutations(r, i, w, batch);
        break;
      case write_request::kind::import:
        r.results[i] = stage_import(r, w, batch);
        break;
    }
    if (!r.results[i].is_ok()) {
      batch.batch.RollbackToSavePoint().PermitUncheckedError();
      r.staged.clear();
      continue;
    }
    batch.batch.PopSavePoint().PermitUncheckedError();
    batch.writes.push_back(i);
    r.commit_staged(w.target, batch);
  }

  // Batched first: the synced write after it covers it in the WAL.
  for (auto* b : {&r.batched, &r.sync_batch}) {
    if (b->writes.empty())
      continue;
    bool sync = (b == &r.sync_batch);
    b->outcome = write(*db, b->batch, sync, b->families);
    store_counters::add(counters_.commit_rounds);
    if (sync)
      store_counters::add(counters_.wal_syncs);
    if (b->outcome.ok()) {
      store_counters::add(counters_.writes_committed, b->writes.size());
      if (sync) {
        sync_due_.reset();  // everything before this write is synced with it
      } else {
        unsynced_interval_ = sync_due_ ? std::min(unsynced_interval_, r.interval) : r.interval;
        auto due = clock::now() + r.interval;
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
      r.results[i] = b->outcome.ok() ? status{} : failure;
    // A refusal against a version that was not stored after all is no
    // conflict the caller could resolve by reloading: it could not write.
    for (auto i : b->refused_after)
      if (!b->outcome.ok())
        r.results[i] = failure;
  }
  db = {};  // callbacks run without the lock

  for (std::size_t i = 0; i < round.size(); ++i) {
    if (r.results[i].code() == status_code::aborted)
      store_counters::add(counters_.writes_refused_stale);
    round[i].done(std::move(r.results[i]));
  }
}

status commit_writer::stage_state(round_state& r, std::size_t i, write_request& w,
                                  batch_of_round& batch) {
  auto* family = w.target.family->handle;
  std::uint64_t current = 0;
  batch_of_round* current_from = nullptr;
  if (auto st = r.version_of(family, w.key, current, current_from); !st.is_ok())
    return st;
  bool erase = w.what == write_request::kind::erase;
  if (!erase) {
    if (current != w.replaces) {
      if (current_from != nullptr)
        current_from->refused_after.push_back(i);
      return stale(current, w.replaces);
    }
    if (w.replaces == std::numeric_limits<std::uint64_t>::max())
      return {status_code::out_of_range, "the state's version cannot grow further"};
  }
  auto s = erase ? batch.batch.Delete(family, w.key)
                 : batch.batch.Put(family, w.key, encode_value(w.replaces + 1, w.bytes));
  if (s.ok() && erase && w.target.journal != nullptr) {
    // The key's journal goes with its state (a snapshot).
    s = batch.batch.DeleteRange(w.target.journal->handle, event_key(w.key, 0),
                                journal_end(w.key));
    r.stage(w.target.journal->handle, w.key, 0);
  }
  if (!s.ok())
    return {status_code::invalid_argument, "the state cannot be stored"};
  r.stage(family, w.key, erase ? 0 : w.replaces + 1);
  return {};
}

status commit_writer::stage_append(round_state& r, std::size_t i, write_request& w,
                                   batch_of_round& batch) {
  if (w.target.journal == nullptr)
    return {status_code::failed_precondition, "the namespace keeps no journals"};
  auto* journal = w.target.journal->handle;
  std::uint64_t last = 0;
  batch_of_round* last_from = nullptr;
  if (auto st = r.journal_head(journal, w.key, last, last_from); !st.is_ok())
    return st;
  if (last != w.replaces) {
    if (last_from != nullptr)
      last_from->refused_after.push_back(i);
    return {status_code::aborted, "the journal was written by another writer (last event "
                                    + std::to_string(last) + ", expected "
                                    + std::to_string(w.replaces) + ")"};
  }
  if (std::numeric_limits<std::uint64_t>::max() - w.replaces < w.events.size())
    return {status_code::out_of_range, "the journal's event numbers cannot grow further"};
  auto seq = w.replaces;
  rocksdb::Status s;
  for (const auto& event : w.events) {
    s = batch.batch.Put(journal, event_key(w.key, ++seq), encode_event(event));
    if (!s.ok())
      return {status_code::invalid_argument, "the events cannot be stored"};
  }
  if (w.snapshot) {
    auto* family = w.target.family->handle;
    s = batch.batch.Put(family, w.key, encode_value(seq, w.bytes));
    if (s.ok() && w.truncate)
      s = batch.batch.DeleteRange(journal, event_key(w.key, 0), event_key(w.key, seq));
    if (!s.ok())
      return {status_code::invalid_argument, "the snapshot cannot be stored"};
    r.stage(family, w.key, seq);
  }
  r.stage(journal, w.key, seq);
  return {};
}

status commit_writer::stage_import(round_state& r, write_request& w, batch_of_round& batch) {
  // No version check: an import replaces whatever an earlier holder of the
  // key left here; the handover writes it before this node serves the key.
  auto* family = w.target.family->handle;
  auto s = w.replaces == 0 ? batch.batch.Delete(family, w.key)
                           : batch.batch.Put(family, w.key, encode_value(w.replaces, w.bytes));
  std::uint64_t last = 0;
  if (s.ok() && w.target.journal != nullptr) {
    auto* journal = w.target.journal->handle;
    s = batch.batch.DeleteRange(journal, event_key(w.key, 0), journal_end(w.key));
    auto seq = w.first_seq;
    for (const auto& event : w.events) {
      if (!s.ok())
        break;
      last = seq;
      s = batch.batch.Put(journal, event_key(w.key, seq++), encode_event(event));
    }
    if (s.ok())
      r.stage(journal, w.key, last);
  } else if (!w.events.empty()) {
    return {status_code::failed_precondition, "the namespace keeps no journals"};
  }
  if (!s.ok())
    return {status_code::invalid_argument, "the key cannot be stored"};
  r.stage(family, w.key, w.replaces);
  return {};
}

status commit_writer::stage_mutations(round_state& r, std::size_t i, write_request& w,
                                      batch_of_round& batch) {
  auto* family = w.target.family->handle;
  // Every operation is checked before any is staged: a key's version as the
  // operations before it in the batch leave it.
  std::unordered_map<std::string_view, std::uint64_t> versions;
  std::vector<std::uint64_t> next(w.mutations.size());
  for (std::size_t m = 0; m < w.mutations.size(); ++m) {
    const auto& op = w.mutations[m];
    std::uint64_t current = 0;
    if (auto known = versions.find(op.key); known != versions.end()) {
      current = known->second;
    } else {
      batch_of_round* from = nullptr;
      if (auto st = r.version_of(family, op.key, current, from); !st.is_ok())
        return st;
      if (op.expected && *op.expected != current && from != nullptr)
        from->refused_after.push_back(i);
    }
    if (op.expected && *op.expected != current)
      return {status_code::aborted, "key-value batch refused: a key is at version "
                                      + std::to_string(current) + ", not "
                                      + std::to_string(*op.expected)};
    if (op.what == runtime::kv_mutation::kind::put
        && current == std::numeric_limits<std::uint64_t>::max())
      return {status_code::out_of_range, "a key's version cannot grow further"};
    next[m] = op.what == runtime::kv_mutation::kind::put ? current + 1 : 0;
    versions[op.key] = next[m];
  }
  for (std::size_t m = 0; m < w.mutations.size(); ++m) {
    const auto& op = w.mutations[m];
    auto s = op.what == runtime::kv_mutation::kind::put
               ? batch.batch.Put(family, op.key, encode_value(next[m], op.value))
               : batch.batch.Delete(family, op.key);
    if (!s.ok())
      return {status_code::invalid_argument, "the batch cannot be stored"};
  }
  for (const auto& [key, version] : versions)
    r.stage(family, std::string{key}, version);
  return {};
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
