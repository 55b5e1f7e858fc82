#include "troupe/runtime/logger.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace troupe::runtime {

namespace {

// JSON string escaping for values we write; parsing JSON is never done here.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string iso8601_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(millis));
  return buf;
}

} // namespace

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warn";
    case log_level::error: return "error";
  }
  return "info";
}

logger::logger(std::string node_name, log_level level)
  : node_name_(std::move(node_name)), level_(level) {
  // nop
}

void logger::log(log_level level, std::string_view message,
                 std::initializer_list<log_field> fields) {
  if (!enabled(level))
    return;
  std::string line;
  line.reserve(160);
  line += "{\"@timestamp\":\"";
  line += iso8601_now();
  line += "\",\"log.level\":";
  append_json_string(line, to_string(level));
  line += ",\"message\":";
  append_json_string(line, message);
  line += ",\"service.name\":\"troupe\",\"service.node.name\":";
  append_json_string(line, node_name_);
  for (auto& f : fields) {
    line += ',';
    append_json_string(line, f.name);
    line += ':';
    append_json_string(line, f.value);
  }
  line += "}\n";
  std::lock_guard guard{mtx_};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace troupe::runtime
