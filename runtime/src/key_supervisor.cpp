#include "key_supervisor.hpp"

#include <algorithm>

namespace troupe::runtime {

key_supervisor::key_supervisor(key_failure_monitor& monitor)
  : monitor_(&monitor), epoch_(monitor.epoch()) {
  // nop
}

void key_supervisor::sync() noexcept {
  auto current = monitor_->epoch();
  if (current == epoch_)
    return;
  // The monitor stopped counting these records when it was reset.
  records_.clear();
  epoch_ = current;
}

key_supervisor::record* key_supervisor::record_for(const std::string& key,
                                                   clock::time_point now) {
  if (auto i = records_.find(key); i != records_.end()) {
    // Expired but not swept yet: the key starts with a clean slate.
    if (now >= i->second.expiry(monitor_->restarts().window))
      i->second = record{};
    return &i->second;
  }
  // At most three rounds: a reset in between (stale epoch) and, at the
  // bound, once more after dropping this shard's expired records.
  bool expired = false;
  for (int round = 0; round < 3; ++round) {
    switch (monitor_->add_record(epoch_)) {
      case key_failure_monitor::admission::added:
        return &records_.emplace(key, record{}).first->second;
      case key_failure_monitor::admission::stale_epoch:
        sync();
        break;
      case key_failure_monitor::admission::full:
        if (expired)
          return nullptr;
        expire(now);
        expired = true;
        break;
    }
  }
  return nullptr;
}

supervision_decision key_supervisor::on_failure(const std::string& key, clock::time_point now,
                                                std::uint64_t activations) {
  using action = supervision_decision::action;
  sync();
  const auto& restarts = monitor_->restarts();
  const auto& keys = monitor_->keys();
  auto* rec = record_for(key, now);
  if (rec == nullptr)
    return {action::give_up, {}, "more keys failing at once than max_tracked_keys"};
  std::erase_if(rec->failures, [&](clock::time_point t) { return now - t > restarts.window; });
  rec->failures.push_back(now);
  rec->last_failure = now;
  switch (monitor_->on_failure(key, now, activations)) {
    case key_failure_monitor::verdict::isolated:
      break;
    case key_failure_monitor::verdict::systematic:
      return {action::give_up, {}, "failures across many keys"};
    case key_failure_monitor::verdict::untrackable:
      return {action::give_up, {}, "more keys failing at once than max_tracked_keys"};
  }
  auto n = rec->failures.size();
  if (n <= restarts.max_restarts)
    return {action::restart, restart_delay(restarts, n), {}};
  // More than max_restarts within the window: the key is quarantined, for
  // twice as long as its previous quarantine if it had one in a row.
  auto period = keys.quarantine_initial;
  for (std::uint32_t i = 0; i < rec->streak && period < keys.quarantine_max; ++i)
    period *= 2;
  period = std::min(period, keys.quarantine_max);
  ++rec->streak;
  rec->last_period = period;
  rec->quarantined_until = now + period;
  // Released, the key gets the whole restart budget again.
  rec->failures.clear();
  monitor_->on_quarantined(key, now, period, rec->streak);
  return {action::quarantine, period, {}};
}

std::chrono::milliseconds key_supervisor::quarantine_left(std::string_view key,
                                                          clock::time_point now) noexcept {
  if (records_.empty())
    return {};
  sync();
  auto i = records_.find(key);
  if (i == records_.end() || i->second.quarantined_until <= now)
    return {};
  return std::chrono::ceil<std::chrono::milliseconds>(i->second.quarantined_until - now);
}

void key_supervisor::expire(clock::time_point now) {
  sync();
  auto window = monitor_->restarts().window;
  auto dropped = std::erase_if(records_, [&](const auto& entry) {
    return now >= entry.second.expiry(window);
  });
  if (dropped > 0)
    monitor_->remove_records(epoch_, dropped);
}

} // namespace troupe::runtime
