// A keyed service's failures seen across all its keys on a node. Each key's
// own restarts and quarantine are decided by the shard that hosts the key
// (runtime/src/key_supervisor); the shards report failures here, so this
// object decides when failures are systematic and the whole service is
// failed, bounds the records kept of failing keys, and keeps what the admin
// API shows. It is touched only when something fails or is quarantined (and
// by the admin API): a call that succeeds never reaches it.
//
// The rule: the service is failed when, within the restart policy's window,
// at least `systematic_keys` distinct keys failed and they are at least
// `systematic_percent` percent of the keys the service has on the node (its
// activations, quarantined keys included); or when more keys are failing or
// quarantined at once than `max_tracked_keys`, the bound on what the node
// keeps of them. One key failing over and over is never systematic: it is
// quarantined alone.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "troupe/runtime/restart_tracker.hpp"

namespace troupe::runtime {

/// How a keyed service's keys are supervised, beyond the restart_policy that
/// each key gets to itself (see the rule above).
struct key_supervision_policy {
  std::chrono::milliseconds quarantine_initial{1'000};
  std::chrono::milliseconds quarantine_max{300'000};
  std::uint32_t systematic_keys = 10;
  std::uint32_t systematic_percent = 50;  // 1..100
  std::uint32_t max_tracked_keys = 10'000;
};

/// A key quarantined now, as the admin API shows it.
struct quarantined_key {
  std::string key;
  std::chrono::milliseconds period{0};     // this quarantine's length
  std::chrono::milliseconds remaining{0};  // of it, from now
  std::uint32_t streak = 0;  // quarantines of the key in a row, this one included
};

class key_failure_monitor {
public:
  using clock = std::chrono::steady_clock;

  /// How many quarantined keys observe() lists at most.
  static constexpr std::size_t max_listed = 10;

  enum class verdict {
    isolated,     // the key's own supervision decides
    systematic,   // many keys are failing: the service is failed
    untrackable,  // more failing keys than max_tracked_keys: the service is failed
  };

  enum class admission { added, full, stale_epoch };

  key_failure_monitor(restart_policy restarts, key_supervision_policy keys);

  key_failure_monitor(const key_failure_monitor&) = delete;
  key_failure_monitor& operator=(const key_failure_monitor&) = delete;

  const restart_policy& restarts() const noexcept {
    return restarts_;
  }
  const key_supervision_policy& keys() const noexcept {
    return keys_;
  }

  /// The rule in words, for the admin API.
  std::string rule() const;

  /// Changes on every reset(): a shard holding records of an older epoch
  /// drops them.
  std::uint64_t epoch() const noexcept {
    return epoch_.load(std::memory_order_acquire);
  }

  /// A key failed at `now`, while the service has `activations` on the node.
  verdict on_failure(std::string_view key, clock::time_point now, std::uint64_t activations);

  /// Room for one more shard record of a failing key, counted against
  /// max_tracked_keys. `stale_epoch`: a reset came in between, and the shard
  /// must drop its records first.
  admission add_record(std::uint64_t epoch);

  /// `n` records of `epoch` were dropped.
  void remove_records(std::uint64_t epoch, std::size_t n);

  /// A key was quarantined at `now` for `period`, its `streak`-th in a row.
  void on_quarantined(std::string_view key, clock::time_point now,
                      std::chrono::milliseconds period, std::uint32_t streak);

  /// Forgets every failure, record and quarantine (an operator reset the
  /// service).
  void reset();

  struct view {
    std::uint64_t quarantined = 0;  // keys quarantined now
    std::uint64_t quarantines = 0;  // key quarantines since start
    std::uint64_t tracked = 0;      // records of failing or quarantined keys
    std::vector<quarantined_key> latest;  // still quarantined, newest first
  };

  view observe(clock::time_point now) const;

private:
  struct failing_key {
    std::uint64_t hash;
    clock::time_point last;  // its latest failure
  };
  struct listed_key {
    std::string key;
    std::chrono::milliseconds period;
    clock::time_point until;
    std::uint32_t streak;
  };

  void forget_failures_before(clock::time_point now);
  void forget_quarantines_before(clock::time_point now) const;

  const restart_policy restarts_;
  const key_supervision_policy keys_;
  std::atomic<std::uint64_t> epoch_{0};
  mutable std::mutex mtx_;
  // The distinct keys that failed within the window, by the hash of the key
  // (a collision only undercounts by one), oldest failure first.
  std::list<failing_key> failing_;
  std::unordered_map<std::uint64_t, std::list<failing_key>::iterator> failing_index_;
  // The ends of the quarantines in force: a min-heap, pruned as time passes.
  mutable std::vector<clock::time_point> quarantine_ends_;
  mutable std::vector<listed_key> latest_;  // newest first, at most max_listed
  std::uint64_t quarantines_ = 0;
  std::uint64_t records_ = 0;
};

} // namespace troupe::runtime
