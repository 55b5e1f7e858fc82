// Supervision of the keys one keyed_shard hosts. Each key gets the service's
// restart policy to itself: its failures within the window double its own
// back-off, and a key that fails more than max_restarts times within the
// window is quarantined alone, for a period that doubles with each quarantine
// in a row (quarantine_initial up to quarantine_max). Every failure is also
// reported to the service's key_failure_monitor, which fails the whole
// service when failures are systematic.
//
// A key that failed has a record here, kept after its activation is gone:
// until it has gone a window without failing and, once released, as long as
// its last quarantine lasted (so a key that fails again soon after its
// release is quarantined for longer). The records of all shards count against
// the service's max_tracked_keys; at that bound the service is failed (more
// keys failing at once than the node keeps track of is systematic).
//
// Runs on the shard's thread only, and only for keys that failed: a shard
// whose keys never failed has no records, and its calls never look here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "string_map.hpp"
#include "supervision_decision.hpp"
#include "troupe/runtime/key_failure_monitor.hpp"

namespace troupe::runtime {

class key_supervisor {
public:
  using clock = std::chrono::steady_clock;

  /// `monitor` is the service's; it outlives the supervisor.
  explicit key_supervisor(key_failure_monitor& monitor);

  /// `key`'s activation failed at `now`, while the service has `activations`
  /// on the node: restart it after its back-off, quarantine the key, or give
  /// the service up.
  supervision_decision on_failure(const std::string& key, clock::time_point now,
                                  std::uint64_t activations);

  /// How much longer `key` stays quarantined after `now`; zero when it is
  /// not quarantined (or an operator reset the service since).
  std::chrono::milliseconds quarantine_left(std::string_view key, clock::time_point now) noexcept;

  /// Drops the records that expired by `now`.
  void expire(clock::time_point now);

  /// True when no key of this shard has a record: nothing to look up.
  bool empty() const noexcept {
    return records_.empty();
  }

  std::size_t size() const noexcept {
    return records_.size();
  }

private:
  struct record {
    std::vector<clock::time_point> failures;  // within the window, oldest first
    clock::time_point last_failure{};
    clock::time_point quarantined_until{};
    std::chrono::milliseconds last_period{0};  // the latest quarantine's length
    std::uint32_t streak = 0;                  // quarantines in a row

    clock::time_point expiry(std::chrono::milliseconds window) const noexcept {
      return std::max(last_failure + window, quarantined_until + last_period);
    }
  };

  /// After an operator reset, the records of before are forgotten.
  void sync() noexcept;

  /// The record of `key`, made if needed; nullptr when the service may not
  /// keep another one.
  record* record_for(const std::string& key, clock::time_point now);

  key_failure_monitor* monitor_;
  std::uint64_t epoch_;
  string_map<record> records_;
};

} // namespace troupe::runtime
