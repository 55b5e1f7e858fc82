// A count that many actors add to on every call without sharing a cache line:
// each actor owns one slot and is its only writer, so an add is a plain load
// and store; readers (the admin API) sum the slots. A single atomic counter
// for a service would bounce one cache line between every core that serves
// it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace troupe::runtime {

class sharded_counter {
public:
  /// One writer's part of the count.
  class alignas(64) slot {
  public:
    /// Only the slot's owner calls this.
    void add(std::uint64_t n = 1) noexcept {
      value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    std::uint64_t value() const noexcept {
      return value_.load(std::memory_order_relaxed);
    }

  private:
    std::atomic<std::uint64_t> value_{0};
  };

  /// A new slot for one writer; its adds count until the counter goes.
  std::shared_ptr<slot> new_slot();

  /// The sum of all slots: exact once the writers are quiet, otherwise a
  /// value the count had or passes shortly.
  std::uint64_t load() const;

private:
  mutable std::mutex mtx_;
  std::vector<std::shared_ptr<slot>> slots_;
};

} // namespace troupe::runtime
