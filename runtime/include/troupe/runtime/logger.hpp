// Structured logs: one JSON object per line on stderr, with Elastic Common
// Schema field names (@timestamp, log.level, message, service.name, ...).
#pragma once

#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "troupe/runtime/node_config.hpp"

namespace troupe::runtime {

/// One extra field of a log event, e.g. {"url.path", "/v1/x"}.
struct log_field {
  std::string_view name;
  std::string value;
};

class logger {
public:
  logger(std::string node_name, log_level level);

  bool enabled(log_level level) const noexcept {
    return level >= level_;
  }

  void log(log_level level, std::string_view message,
           std::initializer_list<log_field> fields = {});

  void info(std::string_view message, std::initializer_list<log_field> fields = {}) {
    log(log_level::info, message, fields);
  }
  void warn(std::string_view message, std::initializer_list<log_field> fields = {}) {
    log(log_level::warning, message, fields);
  }
  void error(std::string_view message, std::initializer_list<log_field> fields = {}) {
    log(log_level::error, message, fields);
  }

private:
  std::string node_name_;
  log_level level_;
  std::mutex mtx_;
};

std::string_view to_string(log_level level) noexcept;

} // namespace troupe::runtime
