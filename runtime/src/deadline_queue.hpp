// Deadlines of an actor's outstanding requests, kept by the actor itself.
//
// CAF 0.17.6 schedules a clock event for every request with a finite timeout
// and never cancels it when the answer arrives: each costs a locked push to
// the clock thread and a stray timeout message later (docs/benchmarks.md).
// Requests therefore go out with an infinite timeout, and the actor expires
// them from this queue on a timer it arms only for the earliest deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

namespace troupe::runtime {

class deadline_queue {
public:
  using id_type = std::uint64_t;
  using expiry = std::function<void()>;

  /// Tracks a request due at `deadline_ns` (Unix ns); `on_expire` runs from
  /// expire() if it is still pending then.
  id_type add(std::int64_t deadline_ns, expiry on_expire);

  /// The request was answered: true if it was still pending (the answer
  /// counts), false if it had expired already (drop the answer).
  bool complete(id_type id);

  /// Runs the expiry of every pending request due at or before `now_ns`.
  void expire(std::int64_t now_ns);

  /// The earliest pending deadline, if any.
  std::optional<std::int64_t> next_deadline();

  size_t pending() const noexcept {
    return live_.size();
  }

  /// Entries held, answered ones not yet dropped included: stays within
  /// twice pending() plus a constant however many requests were answered.
  size_t held() const noexcept {
    return heap_.size();
  }

  /// After add(): the delay after which the actor should send itself a
  /// timer message, when no earlier one is on its way already.
  std::optional<std::chrono::nanoseconds> timer_to_arm(std::int64_t now_ns);

  /// The timer message arrived: call before expire().
  void timer_fired() noexcept {
    armed_.reset();
  }

private:
  using slot = std::pair<std::int64_t, id_type>;  // (deadline, id)

  void drop_answered_top();

  id_type next_id_ = 0;
  std::unordered_map<id_type, expiry> live_;
  // Min-heap; answered entries are removed lazily, or by compaction when they
  // outnumber the live ones.
  std::priority_queue<slot, std::vector<slot>, std::greater<>> heap_;
  std::optional<std::int64_t> armed_;  // deadline the pending timer is for
};

} // namespace troupe::runtime
