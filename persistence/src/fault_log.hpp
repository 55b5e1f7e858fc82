// Where the store's threads report storage faults: the last one is kept for
// the figures, and each goes to the program's sink (the node's log). Callers
// of load/save/erase only see a status without internals.
#pragma once

#include <functional>
#include <mutex>
#include <string>

namespace troupe::persistence {

class fault_log {
public:
  explicit fault_log(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {
  }

  /// `line` is one line; safe from any thread. The same line again (a
  /// fault that lasts, met by every write) is kept but not told again.
  void report(const std::string& line) {
    {
      std::lock_guard guard{mtx_};
      if (line == last_)
        return;
      last_ = line;
    }
    if (sink_)
      sink_(line);
  }

  std::string last() const {
    std::lock_guard guard{mtx_};
    return last_;
  }

private:
  const std::function<void(const std::string&)> sink_;
  mutable std::mutex mtx_;
  std::string last_;
};

/// RocksDB's status as one line (its messages may carry newlines).
std::string one_line(std::string text);

} // namespace troupe::persistence
