#include "wal_file_system.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include <rocksdb/file_system.h>

namespace troupe::persistence {

namespace {

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

std::string path_key(const std::string& path) {
  return std::filesystem::path{path}.lexically_normal().string();
}

/// The sizes of the write-ahead logs being written, by path: what was
/// written to each, not what is allocated.
class written_sizes {
public:
  using size_ref = std::shared_ptr<std::atomic<std::uint64_t>>;

  size_ref track(const std::string& path, std::uint64_t size) {
    auto ref = std::make_shared<std::atomic<std::uint64_t>>(size);
    std::lock_guard guard{mtx_};
    sizes_[path_key(path)] = ref;
    return ref;
  }

  /// Stops tracking `path` if `ref` is still what tracks it (a file of the
  /// same name may have been created since).
  void forget(const std::string& path, const size_ref& ref) {
    std::lock_guard guard{mtx_};
    auto i = sizes_.find(path_key(path));
    if (i != sizes_.end() && i->second == ref)
      sizes_.erase(i);
  }

  bool size_of(const std::string& path, std::uint64_t& size) const {
    std::lock_guard guard{mtx_};
    auto i = sizes_.find(path_key(path));
    if (i == sizes_.end())
      return false;
    size = i->second->load(std::memory_order_acquire);
    return true;
  }

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, size_ref> sizes_;
};

/// A write-ahead log being written: counts what is written to it.
class wal_file final : public rocksdb::FSWritableFileOwnerWrapper {
public:
  wal_file(std::unique_ptr<FSWritableFile> file, std::shared_ptr<written_sizes> sizes,
           std::string path)
    : FSWritableFileOwnerWrapper(std::move(file)),
      sizes_(std::move(sizes)),
      path_(std::move(path)),
      size_(sizes_->track(path_, target()->GetFileSize(IOOptions{}, nullptr))) {
  }

  ~wal_file() override {
    sizes_->forget(path_, size_);
  }

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    auto s = target()->Append(data, options, dbg);
    if (s.ok())
      size_->fetch_add(data.size(), std::memory_order_release);
    return s;
  }

  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& verification,
                  IODebugContext* dbg) override {
    auto s = target()->Append(data, options, verification, dbg);
    if (s.ok())
      size_->fetch_add(data.size(), std::memory_order_release);
    return s;
  }

  IOStatus PositionedAppend(const Slice& data, std::uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    auto s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok())
      grow_to(offset + data.size());
    return s;
  }

  IOStatus PositionedAppend(const Slice& data, std::uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& verification,
                            IODebugContext* dbg) override {
    auto s = target()->PositionedAppend(data, offset, options, verification, dbg);
    if (s.ok())
      grow_to(offset + data.size());
    return s;
  }

  IOStatus Truncate(std::uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    auto s = target()->Truncate(size, options, dbg);
    if (s.ok())
      size_->store(size, std::memory_order_release);
    return s;
  }

  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    // Closed, the file is truncated to what was written: its size on disk
    // is the true one again.
    auto s = target()->Close(options, dbg);
    sizes_->forget(path_, size_);
    return s;
  }

private:
  void grow_to(std::uint64_t end) {
    auto now = size_->load(std::memory_order_relaxed);
    while (now < end && !size_->compare_exchange_weak(now, end, std::memory_order_release))
      ;
  }

  std::shared_ptr<written_sizes> sizes_;
  std::string path_;
  written_sizes::size_ref size_;
};

class wal_file_system final : public rocksdb::FileSystemWrapper {
public:
  explicit wal_file_system(std::shared_ptr<rocksdb::FileSystem> base)
    : FileSystemWrapper(std::move(base)) {
  }

  const char* Name() const override {
    return "troupe_wal_file_system";
  }

  FileOptions OptimizeForLogWrite(const FileOptions& file_options,
                                  const rocksdb::DBOptions& db_options) const override {
    auto optimized = target()->OptimizeForLogWrite(file_options, db_options);
    optimized.fallocate_with_keep_size = false;
    return optimized;
  }

  IOStatus NewWritableFile(const std::string& path, const FileOptions& options,
                           std::unique_ptr<FSWritableFile>* file, IODebugContext* dbg) override {
    return track(path, options, target()->NewWritableFile(path, options, file, dbg), file);
  }

  IOStatus ReopenWritableFile(const std::string& path, const FileOptions& options,
                              std::unique_ptr<FSWritableFile>* file,
                              IODebugContext* dbg) override {
    return track(path, options, target()->ReopenWritableFile(path, options, file, dbg), file);
  }

  IOStatus ReuseWritableFile(const std::string& path, const std::string& old_path,
                             const FileOptions& options, std::unique_ptr<FSWritableFile>* file,
                             IODebugContext* dbg) override {
    return track(path, options,
                 target()->ReuseWritableFile(path, old_path, options, file, dbg), file);
  }

  IOStatus GetFileSize(const std::string& path, const IOOptions& options, std::uint64_t* size,
                       IODebugContext* dbg) override {
    if (sizes_->size_of(path, *size))
      return IOStatus::OK();
    return target()->GetFileSize(path, options, size, dbg);
  }

private:
  /// A file opened with OptimizeForLogWrite()'s options is a write-ahead
  /// log (only those are preallocated without KEEP_SIZE).
  IOStatus track(const std::string& path, const FileOptions& options, IOStatus opened,
                 std::unique_ptr<FSWritableFile>* file) {
    if (opened.ok() && !options.fallocate_with_keep_size)
      *file = std::make_unique<wal_file>(std::move(*file), sizes_, path);
    return opened;
  }

  std::shared_ptr<written_sizes> sizes_ = std::make_shared<written_sizes>();
};

} // namespace

std::shared_ptr<rocksdb::FileSystem> make_wal_file_system(
  std::shared_ptr<rocksdb::FileSystem> base) {
  return std::make_shared<wal_file_system>(std::move(base));
}

} // namespace troupe::persistence
