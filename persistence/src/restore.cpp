// restore_from: a checkpoint copied into place before the store opens.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "fault_log.hpp"
#include "store_directory.hpp"
#include "troupe/persistence/rocksdb_store.hpp"

namespace troupe::persistence {

namespace {

[[noreturn]] void refuse(const std::filesystem::path& from, const std::string& why) {
  throw storage_error("cannot restore from " + from.string() + ": " + why);
}

/// Drops RocksDB's log lines: checking a checkpoint must not write into it.
class no_log : public rocksdb::Logger {
public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {
  }
};

/// Opens the checkpoint read-only, so that a damaged one is refused before
/// anything is copied.
void check_opens(const std::filesystem::path& from) {
  rocksdb::DBOptions options;
  options.info_log = std::make_shared<no_log>();
  std::vector<std::string> names;
  auto s = rocksdb::DB::ListColumnFamilies(options, from.string(), &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (s.ok())
    s = rocksdb::DB::OpenForReadOnly(options, from.string(), descriptors, &handles, &raw);
  if (!s.ok())
    refuse(from, "it does not open (" + one_line(s.ToString()) + ")");
  std::unique_ptr<rocksdb::DB> db{raw};
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  db->Close().PermitUncheckedError();
}

void sync_file(const std::filesystem::path& file, const std::filesystem::path& from) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0)
      ::close(fd);
    refuse(from, "copying " + file.string() + " failed: " + std::strerror(err));
  }
  ::close(fd);
}

} // namespace

void restore_from(const std::filesystem::path& checkpoint_dir,
                  const std::filesystem::path& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(checkpoint_dir, ec))
    refuse(checkpoint_dir, "it is not a directory");
  try {
    check_format_file(checkpoint_dir);
  } catch (const storage_error& e) {
    refuse(checkpoint_dir, std::string{"not a checkpoint of a Troupe state store ("} + e.what()
                             + ")");
  }
  if (std::filesystem::exists(data_dir, ec)) {
    if (!std::filesystem::is_directory(data_dir, ec))
      refuse(checkpoint_dir, data_dir.string() + " is not a directory");
    if (!std::filesystem::is_empty(data_dir, ec) || ec)
      refuse(checkpoint_dir, "refusing to overwrite " + data_dir.string()
                               + ", which is not empty");
  }
  check_opens(checkpoint_dir);

  auto parent = data_dir.has_parent_path() ? data_dir.parent_path() : std::filesystem::path{"."};
  std::filesystem::create_directories(parent, ec);
  if (ec)
    refuse(checkpoint_dir, "cannot create " + parent.string() + ": " + ec.message());
  // Copied beside the target and renamed into place once complete: a crash
  // while copying leaves no half store where the node looks for one.
  auto staging = parent / ("." + data_dir.filename().string() + ".restoring");
  std::filesystem::remove_all(staging, ec);
  std::filesystem::create_directory(staging, ec);
  if (ec)
    refuse(checkpoint_dir, "cannot create " + staging.string() + ": " + ec.message());
  for (const auto& entry : std::filesystem::directory_iterator{checkpoint_dir, ec}) {
    if (!entry.is_regular_file())
      continue;
    auto to = staging / entry.path().filename();
    std::filesystem::copy_file(entry.path(), to, ec);
    if (ec)
      refuse(checkpoint_dir, "copying " + entry.path().filename().string() + " failed: "
                               + ec.message());
    sync_file(to, checkpoint_dir);
  }
  if (ec)
    refuse(checkpoint_dir, "it cannot be read: " + ec.message());
  sync_directory(staging);
  if (std::filesystem::exists(data_dir))
    std::filesystem::remove(data_dir, ec);  // empty, checked above
  if (::rename(staging.c_str(), data_dir.c_str()) != 0)
    refuse(checkpoint_dir, "cannot move the copy to " + data_dir.string() + ": "
                             + std::strerror(errno));
  sync_directory(parent);
}

} // namespace troupe::persistence
