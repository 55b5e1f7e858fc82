// The store's running counts, written by its threads and read by figures().
#pragma once

#include <atomic>
#include <cstdint>

namespace troupe::persistence {

struct store_counters {
  std::atomic<std::uint64_t> commit_rounds{0};
  std::atomic<std::uint64_t> wal_syncs{0};
  std::atomic<std::uint64_t> writes_committed{0};
  std::atomic<std::uint64_t> writes_refused_stale{0};
  std::atomic<std::uint64_t> writes_failed{0};
  std::atomic<std::uint64_t> refused_overloaded{0};

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

} // namespace troupe::persistence
