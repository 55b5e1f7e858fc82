// Structured logs: one JSON object per line, with Elastic Common Schema field
// names (@timestamp, log.level, message, service.name, ...), on stderr.
//
// Logging never blocks the thread that logs: log() formats the line and
// appends it to a bounded in-memory queue, and a writer thread owned by the
// logger writes the queue out. When the queue is full (the output does not
// keep up, e.g. a stderr pipe nobody reads) a line is dropped and counted
// (dropped_lines()); once the writer has caught up it writes one line
// "N log lines dropped".
//
// Repeated warnings and errors are rate-limited, so that a flood of one fault
// cannot flood the log: of the lines with the same level and message text
// within one rate window, the first is written and the rest are only counted;
// after the window a line "repeated N times: <message>" reports them. Fields
// are not compared (the same fault from many clients is one message).
//
// The destructor writes everything still queued, and the pending repeat
// counts, before it returns; it waits at most exit_grace for an output that
// takes nothing, then leaves the writer behind so that the process can exit.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "troupe/runtime/node_config.hpp"

namespace troupe::runtime {

/// One extra field of a log event, e.g. {"url.path", "/v1/x"}: a string, or
/// an integer written as a JSON number ({"http.response.status_code", 200}).
struct log_field {
  log_field(std::string_view n, std::string v) : name(n), value(std::move(v)) {
  }
  log_field(std::string_view n, const char* v) : name(n), value(v) {
  }
  template <std::integral Integer>
    requires(!std::same_as<Integer, bool> && !std::same_as<Integer, char>)
  log_field(std::string_view n, Integer v) : name(n), value(std::to_string(v)), number(true) {
  }

  std::string_view name;
  std::string value;
  bool number = false;  // value holds decimal digits, written unquoted
};

struct logger_options {
  /// Bytes of formatted lines the queue holds; a line that does not fit is
  /// dropped.
  std::size_t queue_bytes = 1 << 20;
  /// Identical warnings and errors within this window are counted, not written.
  std::chrono::milliseconds rate_window{1000};
  /// Distinct messages rate-limited at once; beyond, new messages are not
  /// limited (the queue's bound still holds).
  std::size_t rate_limited_messages = 1024;
  /// How long destruction waits for the output to take what is queued.
  std::chrono::milliseconds exit_grace{5000};
  /// Where whole lines go, in batches, on the writer thread. Empty: stderr.
  std::function<void(std::string_view)> sink;
  /// The clock of the rate windows. Empty: std::chrono::steady_clock.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class logger {
public:
  logger(std::string node_name, log_level level, logger_options options = {});

  /// Writes what is queued (bounded by exit_grace) and stops the writer.
  ~logger();

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  /// Check before building a line's fields: a line below the level costs
  /// nothing more.
  bool enabled(log_level level) const noexcept {
    return level >= level_;
  }

  /// Any thread; never waits for the output.
  void log(log_level level, std::string_view message,
           std::initializer_list<log_field> fields = {}) {
    log_fields(level, message, {fields.begin(), fields.size()});
  }

  /// The same, for fields chosen at run time.
  void log_fields(log_level level, std::string_view message, std::span<const log_field> fields);

  void debug(std::string_view message, std::initializer_list<log_field> fields = {}) {
    log(log_level::debug, message, fields);
  }
  void info(std::string_view message, std::initializer_list<log_field> fields = {}) {
    log(log_level::info, message, fields);
  }
  void warn(std::string_view message, std::initializer_list<log_field> fields = {}) {
    log(log_level::warning, message, fields);
  }
  void error(std::string_view message, std::initializer_list<log_field> fields = {}) {
    log(log_level::error, message, fields);
  }

  /// Lines dropped because the queue was full, since the start.
  std::uint64_t dropped_lines() const noexcept;

  /// Waits until every line logged before the call has been written (and
  /// the repeats of windows already over reported); false when `timeout`
  /// passed first. For shutdown paths and tests, never for serving threads.
  bool flush(std::chrono::milliseconds timeout);

private:
  struct shared;

  log_level level_;
  std::shared_ptr<shared> shared_;  // with the writer thread, which may outlive us
  std::thread writer_;
};

std::string_view to_string(log_level level) noexcept;

} // namespace troupe::runtime
