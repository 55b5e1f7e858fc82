#include "info_log.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <string>

namespace troupe::persistence {

info_log::info_log(std::filesystem::path file, std::size_t max_bytes)
  : file_(std::move(file)), max_bytes_(max_bytes) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file_, ec);
  if (!ec && size >= max_bytes_)
    roll();
  else {
    out_ = std::fopen(file_.c_str(), "ae");
    written_ = ec ? 0 : size;
  }
}

info_log::~info_log() {
  Close().PermitUncheckedError();
}

rocksdb::Status info_log::CloseImpl() {
  std::lock_guard guard{mtx_};
  if (out_ != nullptr)
    std::fclose(out_);
  out_ = nullptr;
  return rocksdb::Status::OK();
}

void info_log::roll() {
  if (out_ != nullptr)
    std::fclose(out_);
  std::error_code ec;
  std::filesystem::rename(file_, file_.string() + ".old", ec);
  out_ = std::fopen(file_.c_str(), "we");
  written_ = 0;
}

void info_log::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void info_log::Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  if (level < GetInfoLogLevel())
    return;
  char text[1024];
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(text, sizeof text, format, copy);
  va_end(copy);
  std::string line;
  if (n >= static_cast<int>(sizeof text)) {
    line.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(line.data(), line.size(), format, ap);
    line.resize(static_cast<std::size_t>(n));
  } else if (n > 0) {
    line.assign(text, static_cast<std::size_t>(n));
  }

  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count()
                % 1000000;
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char prefix[64];
  std::snprintf(prefix, sizeof prefix, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %ld ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long>(micros), static_cast<long>(::syscall(SYS_gettid)));

  std::lock_guard guard{mtx_};
  if (written_ >= max_bytes_)
    roll();
  if (out_ == nullptr)
    return;
  // A failed write (a full disk) loses the line and nothing else.
  written_ += std::fwrite(prefix, 1, std::strlen(prefix), out_);
  written_ += std::fwrite(line.data(), 1, line.size(), out_);
  written_ += std::fwrite("\n", 1, 1, out_);
  std::fflush(out_);
  std::clearerr(out_);
}

void info_log::Flush() {
  std::lock_guard guard{mtx_};
  if (out_ != nullptr)
    std::fflush(out_);
}

} // namespace troupe::persistence
