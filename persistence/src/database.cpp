#include "database.hpp"

#include <algorithm>
#include <mutex>

#include <rocksdb/db.h>
#include <rocksdb/file_system.h>
#include <rocksdb/listener.h>

#include "store_directory.hpp"
#include "troupe/persistence/rocksdb_store.hpp"

namespace troupe::persistence {

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

std::string open_fault(const std::filesystem::path& dir, const rocksdb::Status& s) {
  auto text = one_line(s.ToString());
  auto where = describe(dir);
  if (contains(text, "Read-only file system") || contains(text, "Permission denied"))
    return where + " is not writable: " + text;
  if (s.IsIOError() && (contains(text, "lock") || contains(text, "Resource temporarily unavailable")))
    return where + " is in use by another process (its LOCK is held)";
  // A file RocksDB needs that is missing (CURRENT, the MANIFEST it names, a
  // table) is damage too.
  if (s.IsCorruption() || s.IsPathNotFound() || contains(text, "No such file")
      || contains(text, "does not exist"))
    return where + " is corrupt (" + text
           + "); it was left as it is: repair it or start from a checkpoint (--restore)";
  if (s.IsNoSpace())
    return where + " cannot be opened: the disk is full (" + text + ")";
  return where + " cannot be opened: " + text;
}

/// Reports RocksDB's background errors, marks the database for healing, and
/// keeps RocksDB's own recovery from a full disk off (see database.hpp).
class database::listener : public rocksdb::EventListener {
public:
  explicit listener(database& db) : db_(db) {
  }

  const char* Name() const override {
    return "troupe_store_listener";
  }

  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error == nullptr || error->ok())
      return;
    // A soft error (a compaction that failed) leaves writes going: nothing
    // to heal, and a reopen would only meet it again.
    if (error->severity() < rocksdb::Status::Severity::kHardError) {
      db_.faults_.report("state store: RocksDB background work failed: "
                         + one_line(error->ToString()));
      return;
    }
    db_.need_healing();
    db_.faults_.report("state store: RocksDB stopped writing after an error: "
                       + one_line(error->ToString()));
  }

  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    if (auto_recovery != nullptr)
      *auto_recovery = false;
  }

  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok())
      db_.faults_.report("state store: RocksDB writes again after: "
                         + one_line(info.old_bg_error.ToString()));
  }

private:
  database& db_;
};

database::database(std::filesystem::path dir, bool fresh, std::vector<std::string> initial_families,
                   rocksdb::DBOptions options, family_options_fn family_options, fault_log& faults)
  : dir_(std::move(dir)),
    options_(std::move(options)),
    family_options_(std::move(family_options)),
    faults_(faults) {
  options_.listeners.push_back(std::make_shared<listener>(*this));
  std::unique_lock lock{mtx_};
  open_locked(fresh, initial_families);
}

database::~database() {
  std::unique_lock lock{mtx_};
  close_locked();
}

void database::open_locked(bool fresh, const std::vector<std::string>& initial_families) {
  auto options = options_;
  options.create_if_missing = fresh;
  options.create_missing_column_families = fresh;
  std::vector<std::string> names;
  if (fresh) {
    names = initial_families;
  } else {
    auto s = rocksdb::DB::ListColumnFamilies(options, dir_.string(), &names);
    if (!s.ok())
      throw storage_error(open_fault(dir_, s));
  }
  if (std::find(names.begin(), names.end(), rocksdb::kDefaultColumnFamilyName) == names.end())
    names.insert(names.begin(), rocksdb::kDefaultColumnFamilyName);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, family_options_(name));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, dir_.string(), descriptors, &handles, &raw);
  if (!s.ok())
    throw storage_error(open_fault(dir_, s));
  db_.reset(raw);
  read_only_ = false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto& slot = slots_[names[i]];
    if (!slot)
      slot = std::make_unique<family_slot>(family_slot{names[i], nullptr});
    slot->handle = handles[i];
  }
}

void database::close_locked() {
  if (!db_)
    return;
  for (auto& [name, slot] : slots_) {
    if (slot->handle != nullptr)
      db_->DestroyColumnFamilyHandle(slot->handle);
    slot->handle = nullptr;
  }
  auto s = db_->Close();
  if (!s.ok())
    faults_.report("state store: closing RocksDB: " + one_line(s.ToString()));
  db_.reset();
}

database::access database::try_use() const {
  std::shared_lock lock{mtx_, std::try_to_lock};
  if (!lock.owns_lock())
    return {};
  auto* db = db_.get();
  return access{std::move(lock), db};
}

database::access database::use() const {
  std::shared_lock lock{mtx_};
  auto* db = db_.get();
  return access{std::move(lock), db};
}

family_slot* database::family(std::string_view name) const {
  std::shared_lock lock{mtx_};
  auto i = slots_.find(name);
  return i == slots_.end() ? nullptr : i->second.get();
}

std::vector<family_slot*> database::families() const {
  std::shared_lock lock{mtx_};
  std::vector<family_slot*> out;
  for (const auto& [name, slot] : slots_)
    out.push_back(slot.get());
  return out;
}

rocksdb::Status database::create_family(const std::string& name, family_slot*& created) {
  std::unique_lock lock{mtx_};
  if (!db_ || read_only_)
    return rocksdb::Status::Incomplete("RocksDB does not take writes now");
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  auto s = db_->CreateColumnFamily(family_options_(name), name, &handle);
  if (!s.ok())
    return s;
  auto& slot = slots_[name];
  slot = std::make_unique<family_slot>(family_slot{name, handle});
  created = slot.get();
  return s;
}

bool database::disk_takes_writes() const {
  // Through RocksDB's file system, so that what RocksDB would see (a fault
  // a test injects, too) is what decides.
  auto fs = (options_.env != nullptr ? options_.env : rocksdb::Env::Default())->GetFileSystem();
  auto path = (dir_ / "WRITE-CHECK").string();
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOOptions io;
  auto s = fs->NewWritableFile(path, rocksdb::FileOptions{}, &file, nullptr);
  if (s.ok())
    s = file->Append(std::string(std::size_t{64} << 10, '\0'), io, nullptr);
  if (s.ok())
    s = file->Sync(io, nullptr);
  if (file)
    file->Close(io, nullptr).PermitUncheckedError();
  fs->DeleteFile(path, io, nullptr).PermitUncheckedError();
  return s.ok();
}

void database::open_read_only_locked() {
  std::vector<std::string> names;
  auto s = rocksdb::DB::ListColumnFamilies(options_, dir_.string(), &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, family_options_(name));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (s.ok())
    s = rocksdb::DB::OpenForReadOnly(options_, dir_.string(), descriptors, &handles, &raw);
  if (!s.ok()) {
    faults_.report("state store: opening RocksDB read-only failed too: " + one_line(s.ToString()));
    return;
  }
  db_.reset(raw);
  read_only_ = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto& slot = slots_[names[i]];
    if (!slot)
      slot = std::make_unique<family_slot>(family_slot{names[i], nullptr});
    slot->handle = handles[i];
  }
}

bool database::heal() {
  // Not DB::Resume(): in RocksDB 7.8 it can wait forever for a flush that
  // is never scheduled after a failed one (seen on a full tmpfs). A reopen
  // replays the WAL and flushes it; until the disk takes writes again the
  // instance at hand keeps serving loads.
  if (!disk_takes_writes())
    return false;
  std::unique_lock lock{mtx_};
  close_locked();
  try {
    open_locked(false, {});
  } catch (const storage_error& e) {
    faults_.report(std::string{"state store: reopening RocksDB failed: "} + e.what());
    open_read_only_locked();  // loads go on; writes wait for the next heal
    return false;
  }
  faults_.report("state store: RocksDB reopened and writes again");
  needs_healing_.store(false, std::memory_order_release);
  return true;
}

} // namespace troupe::persistence
