// A RocksDB file system for tests of the state store: the real one (files
// under /tmp), with switches that make it fail as a full disk does, hold
// syncs or table reads until released (so that a test can see what happens
// while RocksDB waits on the disk, without timing), and count WAL syncs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace troupe::persistence::testing {

/// Holds threads that reach it while closed; counts them.
class gate {
public:
  void close() {
    std::lock_guard guard{mtx_};
    closed_ = true;
  }
  void open() {
    {
      std::lock_guard guard{mtx_};
      closed_ = false;
    }
    cv_.notify_all();
  }
  void pass() {
    std::unique_lock lock{mtx_};
    if (!closed_)
      return;
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !closed_; });
    --waiting_;
  }
  /// Whether `n` threads wait at the gate within `limit`.
  bool wait_for_waiting(int n, std::chrono::milliseconds limit = std::chrono::seconds{20}) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, limit, [&] { return waiting_ >= n; });
  }
  int waiting() {
    std::lock_guard guard{mtx_};
    return waiting_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool closed_ = false;
  int waiting_ = 0;
};

struct fault_switches {
  std::atomic<bool> no_space{false};  // writes, syncs and new files fail: disk full
  std::atomic<int> wal_syncs{0};      // syncs of WAL files (*.log) that reached the disk
  gate wal_sync_gate;                 // holds WAL syncs while closed
  gate file_sync_gate;                // holds syncs of other files (tables, manifest)
  gate table_read_gate;               // holds reads of table files (*.sst) while closed
};

/// Declared after the store it serves: opens the gates and heals the disk
/// when a test ends, also after a failed assertion, so that the store's
/// destructor does not wait on a held sync forever.
class release_at_exit {
public:
  explicit release_at_exit(fault_switches& sw) : sw_(sw) {
  }
  ~release_at_exit() {
    sw_.no_space = false;
    sw_.wal_sync_gate.open();
    sw_.file_sync_gate.open();
    sw_.table_read_gate.open();
  }
  release_at_exit(const release_at_exit&) = delete;
  release_at_exit& operator=(const release_at_exit&) = delete;

private:
  fault_switches& sw_;
};

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

class fault_writable_file : public rocksdb::FSWritableFileOwnerWrapper {
public:
  fault_writable_file(std::unique_ptr<rocksdb::FSWritableFile> file, std::string name,
                      fault_switches& sw)
    : FSWritableFileOwnerWrapper(std::move(file)), wal_(ends_with(name, ".log")), sw_(sw) {
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* d) override {
    if (sw_.no_space)
      return rocksdb::IOStatus::NoSpace("injected: disk full");
    return FSWritableFileOwnerWrapper::Append(data, o, d);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* d) override {
    if (sw_.no_space)
      return rocksdb::IOStatus::NoSpace("injected: disk full");
    return FSWritableFileOwnerWrapper::Append(data, o, v, d);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    return synced(FSWritableFileOwnerWrapper::Sync(o, d));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    return synced(FSWritableFileOwnerWrapper::Fsync(o, d));
  }

private:
  rocksdb::IOStatus synced(rocksdb::IOStatus s) {
    if (sw_.no_space)
      return rocksdb::IOStatus::NoSpace("injected: disk full");
    if (wal_) {
      sw_.wal_sync_gate.pass();
      ++sw_.wal_syncs;
    } else {
      sw_.file_sync_gate.pass();
    }
    return s;
  }

  bool wal_;
  fault_switches& sw_;
};

class fault_random_file : public rocksdb::FSRandomAccessFileOwnerWrapper {
public:
  fault_random_file(std::unique_ptr<rocksdb::FSRandomAccessFile> file, fault_switches& sw)
    : FSRandomAccessFileOwnerWrapper(std::move(file)), sw_(sw) {
  }
  rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& o,
                         rocksdb::Slice* result, char* scratch,
                         rocksdb::IODebugContext* d) const override {
    sw_.table_read_gate.pass();
    return FSRandomAccessFileOwnerWrapper::Read(offset, n, o, result, scratch, d);
  }

private:
  fault_switches& sw_;
};

class fault_fs : public rocksdb::FileSystemWrapper {
public:
  explicit fault_fs(fault_switches& sw)
    : FileSystemWrapper(rocksdb::FileSystem::Default()), sw_(sw) {
  }

  const char* Name() const override {
    return "troupe_fault_fs";
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    if (sw_.no_space)
      return rocksdb::IOStatus::NoSpace("injected: disk full");
    auto s = FileSystemWrapper::NewWritableFile(f, o, r, d);
    if (s.ok())
      *r = std::make_unique<fault_writable_file>(std::move(*r), f, sw_);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    auto s = FileSystemWrapper::ReopenWritableFile(f, o, r, d);
    if (s.ok())
      *r = std::make_unique<fault_writable_file>(std::move(*r), f, sw_);
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* d) override {
    auto s = FileSystemWrapper::ReuseWritableFile(f, old, o, r, d);
    if (s.ok())
      *r = std::make_unique<fault_writable_file>(std::move(*r), f, sw_);
    return s;
  }
  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* d) override {
    auto s = FileSystemWrapper::NewRandomAccessFile(f, o, r, d);
    if (s.ok() && ends_with(f, ".sst"))
      *r = std::make_unique<fault_random_file>(std::move(*r), sw_);
    return s;
  }

private:
  fault_switches& sw_;
};

/// An Env over a fault_fs driven by `sw` (which must outlive it).
inline std::shared_ptr<rocksdb::Env> fault_env(fault_switches& sw) {
  return rocksdb::NewCompositeEnv(std::make_shared<fault_fs>(sw));
}

} // namespace troupe::persistence::testing
