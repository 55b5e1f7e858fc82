#include "troupe/runtime/logger.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace troupe::runtime {

namespace {

using steady_time = std::chrono::steady_clock::time_point;

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

void append_iso8601_now(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  n += static_cast<std::size_t>(
    std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(millis)));
  out.append(buf, n);
}

std::string format_line(std::string_view node_name, log_level level, std::string_view message,
                        std::span<const log_field> fields) {
  std::string line;
  line.reserve(192);
  line += "{\"@timestamp\":\"";
  append_iso8601_now(line);
  line += "\",\"log.level\":";
  append_json_string(line, to_string(level));
  line += ",\"message\":";
  append_json_string(line, message);
  line += ",\"service.name\":\"troupe\",\"service.node.name\":";
  append_json_string(line, node_name);
  for (const auto& f : fields) {
    line += ',';
    append_json_string(line, f.name);
    line += ':';
    if (f.number)
      line += f.value;
    else
      append_json_string(line, f.value);
  }
  line += "}\n";
  return line;
}

/// All of `bytes` to stderr, whatever kind of file it is. Gives up only when
/// stderr is closed or broken: there is nowhere left to say anything.
void write_stderr(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(STDERR_FILENO, bytes.data(), bytes.size());
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Inherited non-blocking: wait until it takes more.
      pollfd fd{STDERR_FILENO, POLLOUT, 0};
      ::poll(&fd, 1, -1);
    } else if (errno != EINTR) {
      return;
    }
  }
}

/// Hash of std::string that also takes string_view, so that looking a
/// message up does not copy it.
struct text_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept {
    return std::hash<std::string_view>{}(text);
  }
};

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

// What the loggers' callers and the writer thread share. Everything but
// `dropped` is guarded by `mutex`, which is only held to move a line in or a
// batch out, never while writing.
struct logger::shared {
  shared(std::string node, logger_options opts)
    : node_name(std::move(node)), options(std::move(opts)) {
  }

  /// A queued line, or (repeats > 0) the report that `text`, a message, was
  /// repeated: formatted by the writer, in its place in the order.
  struct entry {
    std::string text;
    log_level level = log_level::info;
    std::uint64_t repeats = 0;
  };

  /// A message being rate-limited: written once at the window's start.
  struct window {
    steady_time ends;
    std::uint64_t repeats = 0;  // suppressed since
  };
  using window_map = std::unordered_map<std::string, window, text_hash, std::equal_to<>>;

  steady_time now() const {
    return options.clock ? options.clock() : std::chrono::steady_clock::now();
  }

  void write(std::string_view bytes) const {
    if (options.sink)
      options.sink(bytes);
    else
      write_stderr(bytes);
  }

  window_map& windows_of(log_level level) {
    return rate_windows[level == log_level::error ? 1 : 0];
  }

  /// True when a warning or error `message` is a repeat within its window:
  /// counted, not to be written.
  bool suppress_repeat(log_level level, std::string_view message) {
    std::unique_lock lock{mutex};
    auto& windows = windows_of(level);
    auto at = now();
    auto found = windows.find(message);
    if (found != windows.end()) {
      auto& w = found->second;
      if (at < w.ends) {
        ++w.repeats;
        return true;
      }
      // The writer has not looked at this window since it ended: the report
      // goes now, before the line that opens the next window.
      auto repeats = std::exchange(w.repeats, 0);
      w.ends = at + options.rate_window;
      if (repeats > 0) {
        queue.push_back({found->first, level, repeats});
        wake_writer(lock);
      }
      return false;
    }
    if (windows.size() < options.rate_limited_messages)
      windows.emplace(std::string{message}, window{at + options.rate_window, 0});
    return false;
  }

  void push(log_level level, std::string line) {
    std::unique_lock lock{mutex};
    // An empty queue takes any line, so that one longer than the bound is
    // still written.
    if (!queue.empty() && queued_bytes + line.size() > options.queue_bytes) {
      dropped.fetch_add(1, std::memory_order_relaxed);
      ++dropped_unreported;
      return;
    }
    queued_bytes += line.size();
    queue.push_back({std::move(line), level, 0});
    wake_writer(lock);
  }

  /// Wakes the writer if it waits; a busy writer looks at the queue before
  /// it waits again. Releases `lock`.
  void wake_writer(std::unique_lock<std::mutex>& lock) {
    bool waiting = writer_waiting;
    writer_waiting = false;
    lock.unlock();
    if (waiting)
      wake.notify_one();
  }

  /// Queues the reports of windows that ended by `at` (of all, when
  /// `all`) and forgets those windows. Under `mutex`.
  void close_windows(steady_time at, bool all) {
    for (auto level : {log_level::warning, log_level::error}) {
      auto& windows = windows_of(level);
      for (auto i = windows.begin(); i != windows.end();) {
        if (all || i->second.ends <= at) {
          if (i->second.repeats > 0)
            queue.push_back({i->first, level, i->second.repeats});
          i = windows.erase(i);
        } else {
          ++i;
        }
      }
    }
  }

  /// When the earliest window ends. Under `mutex`.
  std::optional<steady_time> next_window_end() const {
    std::optional<steady_time> next;
    for (const auto& windows : rate_windows)
      for (const auto& [message, w] : windows)
        if (!next || w.ends < *next)
          next = w.ends;
    return next;
  }

  /// The writer thread's loop: until stopped and nothing is left.
  void run() {
    // Signals are for the main thread; a stderr pipe closed by the reader
    // must fail the write (EPIPE), not kill the process.
    sigset_t all;
    sigfillset(&all);
    for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
      sigdelset(&all, sync);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);

    std::vector<entry> batch;
    std::string out;
    std::unique_lock lock{mutex};
    for (;;) {
      auto at = now();
      close_windows(at, stopping);
      if (queue.empty() && dropped_unreported == 0 && flush_done == flush_requested) {
        if (stopping)
          break;
        writer_waiting = true;
        if (auto next = next_window_end())
          wake.wait_for(lock, *next - at);
        else
          wake.wait(lock);
        writer_waiting = false;
        continue;
      }
      auto pass = flush_requested;
      batch.swap(queue);
      queued_bytes = 0;
      auto dropped_now = std::exchange(dropped_unreported, 0);
      lock.unlock();

      out.clear();
      for (auto& e : batch) {
        if (e.repeats == 0)
          out += e.text;
        else
          out += format_line(node_name, e.level,
                             "repeated " + std::to_string(e.repeats) + " times: " + e.text,
                             std::array{log_field{"troupe.log.repeats", e.repeats}});
      }
      // Reported after the lines that were queued before them.
      if (dropped_now > 0)
        out += format_line(node_name, log_level::warning,
                           std::to_string(dropped_now) + " log lines dropped",
                           std::array{log_field{"troupe.log.dropped", dropped_now}});
      if (!out.empty())
        write(out);
      batch.clear();  // keeps its capacity for the next swap

      lock.lock();
      flush_done = pass;
      written.notify_all();
    }
    writer_done = true;
    written.notify_all();
  }

  const std::string node_name;
  const logger_options options;

  std::atomic<std::uint64_t> dropped{0};

  std::mutex mutex;
  std::condition_variable wake;     // the writer waits for work
  std::condition_variable written;  // flush() and the destructor wait for the writer
  std::vector<entry> queue;
  std::size_t queued_bytes = 0;
  std::uint64_t dropped_unreported = 0;
  std::array<window_map, 2> rate_windows;  // warnings, errors
  std::uint64_t flush_requested = 0;
  std::uint64_t flush_done = 0;  // the writer has written all of flush request #flush_done
  bool writer_waiting = false;  // in wake.wait: a new line must notify
  bool stopping = false;
  bool writer_done = false;
};

logger::logger(std::string node_name, log_level level, logger_options options)
  : level_(level),
    shared_(std::make_shared<shared>(std::move(node_name), std::move(options))) {
  writer_ = std::thread{[state = shared_] { state->run(); }};
  pthread_setname_np(writer_.native_handle(), "troupe-log");
}

logger::~logger() {
  auto& s = *shared_;
  std::unique_lock lock{s.mutex};
  s.stopping = true;
  s.wake.notify_one();
  bool done = s.written.wait_for(lock, s.options.exit_grace, [&] { return s.writer_done; });
  lock.unlock();
  // A writer stuck on an output that takes nothing keeps its share of the
  // state and ends with the process.
  if (done)
    writer_.join();
  else
    writer_.detach();
}

void logger::log_fields(log_level level, std::string_view message,
                        std::span<const log_field> fields) {
  if (!enabled(level))
    return;
  if (level >= log_level::warning && shared_->suppress_repeat(level, message))
    return;
  shared_->push(level, format_line(shared_->node_name, level, message, fields));
}

std::uint64_t logger::dropped_lines() const noexcept {
  return shared_->dropped.load(std::memory_order_relaxed);
}

bool logger::flush(std::chrono::milliseconds timeout) {
  auto& s = *shared_;
  std::unique_lock lock{s.mutex};
  auto request = ++s.flush_requested;
  s.wake.notify_one();
  return s.written.wait_for(lock, timeout,
                            [&] { return s.flush_done >= request || s.writer_done; });
}

} // namespace troupe::runtime
