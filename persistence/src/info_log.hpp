// RocksDB's own log (DIR/LOG, rolled to DIR/LOG.old past a size), written
// with stdio. RocksDB's default logger writes through its WritableFileWriter,
// which, after a failed write on a full disk, trips an assertion on the next
// line (Debian's build keeps assertions): the process would abort exactly
// when the store should keep serving loads and wait for space. Here a line
// that cannot be written is dropped.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include <rocksdb/env.h>

namespace troupe::persistence {

class info_log : public rocksdb::Logger {
public:
  info_log(std::filesystem::path file, std::size_t max_bytes);
  ~info_log() override;

  void Logv(const char* format, va_list ap) override;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  void Flush() override;

protected:
  rocksdb::Status CloseImpl() override;

private:
  void roll();

  const std::filesystem::path file_;
  const std::size_t max_bytes_;
  std::mutex mtx_;
  std::FILE* out_ = nullptr;
  std::size_t written_ = 0;
};

} // namespace troupe::persistence
