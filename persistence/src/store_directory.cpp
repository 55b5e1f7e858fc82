#include "store_directory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "troupe/persistence/rocksdb_store.hpp"

namespace troupe::persistence {

namespace {

constexpr const char* format_title = "troupe state store";

std::string format_text() {
  return std::string{format_title} + "\nformat " + std::to_string(store_format) + "\n";
}

[[noreturn]] void fail(const std::filesystem::path& dir, const std::string& what) {
  throw storage_error(describe(dir) + " " + what);
}

/// Whether `name` is something RocksDB creates before its CURRENT file, so
/// that a directory holding only such files (and FORMAT) was never a database.
bool before_rocksdb_exists(const std::string& name) {
  return name == format_file_name || name == "LOCK" || name.rfind("LOG", 0) == 0;
}

void write_all(int fd, const std::string& text, const std::filesystem::path& dir) {
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail(dir, std::string{"cannot be written: "} + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

} // namespace

std::string describe(const std::filesystem::path& dir) {
  return "state store " + dir.string();
}

void sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    fail(dir, std::string{"cannot be synced: "} + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    fail(dir, std::string{"cannot be synced: "} + std::strerror(err));
}

void write_format_file(const std::filesystem::path& dir) {
  auto tmp = dir / (std::string{format_file_name} + ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(dir, std::string{"cannot be written: "} + std::strerror(errno));
  try {
    write_all(fd, format_text(), dir);
  } catch (...) {
    ::close(fd);
    throw;
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    fail(dir, std::string{"cannot be written: "} + std::strerror(err));
  if (::rename(tmp.c_str(), (dir / format_file_name).c_str()) != 0)
    fail(dir, std::string{"cannot be written: "} + std::strerror(errno));
  sync_directory(dir);
}

void check_format_file(const std::filesystem::path& dir) {
  std::ifstream in{dir / format_file_name};
  if (!in)
    fail(dir, "is not a Troupe state store (it has no FORMAT file)");
  std::string title;
  std::string word;
  int format = 0;
  std::getline(in, title);
  if (title != format_title || !(in >> word >> format) || word != "format")
    fail(dir, "has a damaged FORMAT file; refusing to use it");
  if (format != store_format)
    fail(dir, "has format " + std::to_string(format) + ", this build reads format "
                + std::to_string(store_format)
                + " (written by another version of Troupe); refusing to use it");
}

bool prepare_store_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  auto st = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st))
    fail(dir, "is not a directory");
  if (!std::filesystem::exists(st)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      fail(dir, "cannot be created: " + ec.message());
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail(dir, std::string{"is not writable: "} + std::strerror(errno));

  bool has_format = false;
  bool has_rocksdb = false;
  bool empty = true;  // but for a FORMAT.tmp left by a crash while creating it
  for (auto it = std::filesystem::directory_iterator{dir, ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name == std::string{format_file_name} + ".tmp")
      continue;
    empty = false;
    if (name == format_file_name)
      has_format = true;
    else if (!before_rocksdb_exists(name))
      has_rocksdb = true;
  }
  if (ec)
    fail(dir, "cannot be read: " + ec.message());
  if (empty) {
    write_format_file(dir);
    return true;
  }
  if (!has_format)
    fail(dir, "is not empty and has no FORMAT file: not a Troupe state store; refusing to use it");
  check_format_file(dir);
  return !has_rocksdb;
}

} // namespace troupe::persistence
