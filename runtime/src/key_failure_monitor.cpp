#include "troupe/runtime/key_failure_monitor.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace troupe::runtime {

namespace {

/// Keys listed for the admin API are kept to this many bytes: the list is
/// for recognizing a key, and a key may be as long as a request body.
constexpr std::size_t max_listed_key_bytes = 256;

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

} // namespace

key_failure_monitor::key_failure_monitor(restart_policy restarts, key_supervision_policy keys)
  : restarts_(restarts), keys_(keys) {
  // nop
}

std::string key_failure_monitor::rule() const {
  return "a key failing more than " + std::to_string(restarts_.max_restarts)
         + " times within " + ms(restarts_.window) + " is quarantined for "
         + ms(keys_.quarantine_initial) + ", doubling up to " + ms(keys_.quarantine_max)
         + "; the service fails when at least " + std::to_string(keys_.systematic_keys)
         + " distinct keys fail within " + ms(restarts_.window) + " and they are at least "
         + std::to_string(keys_.systematic_percent)
         + "% of its keys on the node, or when more than "
         + std::to_string(keys_.max_tracked_keys) + " keys are failing at once";
}

void key_failure_monitor::forget_failures_before(clock::time_point now) {
  while (!failing_.empty() && now - failing_.front().last > restarts_.window) {
    failing_index_.erase(failing_.front().hash);
    failing_.pop_front();
  }
}

void key_failure_monitor::forget_quarantines_before(clock::time_point now) const {
  auto later = std::greater<>{};
  while (!quarantine_ends_.empty() && quarantine_ends_.front() <= now) {
    std::pop_heap(quarantine_ends_.begin(), quarantine_ends_.end(), later);
    quarantine_ends_.pop_back();
  }
  std::erase_if(latest_, [now](const listed_key& k) { return k.until <= now; });
}

key_failure_monitor::verdict
key_failure_monitor::on_failure(std::string_view key, clock::time_point now,
                                std::uint64_t activations) {
  auto hash = std::uint64_t{std::hash<std::string_view>{}(key)};
  std::lock_guard guard{mtx_};
  forget_failures_before(now);
  if (auto i = failing_index_.find(hash); i != failing_index_.end()) {
    i->second->last = now;
    failing_.splice(failing_.end(), failing_, i->second);
  } else {
    if (failing_.size() >= keys_.max_tracked_keys)
      return verdict::untrackable;
    failing_.push_back({hash, now});
    failing_index_.emplace(hash, std::prev(failing_.end()));
  }
  std::uint64_t distinct = failing_.size();
  if (distinct < keys_.systematic_keys)
    return verdict::isolated;
  // Keys that failed and were passivated since are in `distinct` but no
  // longer among the activations.
  auto keys_on_node = std::max(distinct, activations);
  return distinct * 100 >= std::uint64_t{keys_.systematic_percent} * keys_on_node
           ? verdict::systematic
           : verdict::isolated;
}

key_failure_monitor::admission key_failure_monitor::add_record(std::uint64_t epoch) {
  std::lock_guard guard{mtx_};
  if (epoch != epoch_.load(std::memory_order_relaxed))
    return admission::stale_epoch;
  if (records_ >= keys_.max_tracked_keys)
    return admission::full;
  ++records_;
  return admission::added;
}

void key_failure_monitor::remove_records(std::uint64_t epoch, std::size_t n) {
  std::lock_guard guard{mtx_};
  // Records of an older epoch were no longer counted since the reset.
  if (epoch == epoch_.load(std::memory_order_relaxed))
    records_ -= std::min<std::uint64_t>(records_, n);
}

void key_failure_monitor::on_quarantined(std::string_view key, clock::time_point now,
                                         std::chrono::milliseconds period,
                                         std::uint32_t streak) {
  std::lock_guard guard{mtx_};
  forget_quarantines_before(now);
  ++quarantines_;
  auto until = now + period;
  // A key is quarantined again only after its previous quarantine ended, so
  // the heap holds at most one entry per record (bounded by
  // max_tracked_keys).
  quarantine_ends_.push_back(until);
  std::push_heap(quarantine_ends_.begin(), quarantine_ends_.end(), std::greater<>{});
  auto shown = key.substr(0, max_listed_key_bytes);
  std::erase_if(latest_, [&](const listed_key& k) { return k.key == shown; });
  latest_.insert(latest_.begin(), listed_key{std::string{shown}, period, until, streak});
  if (latest_.size() > max_listed)
    latest_.pop_back();
}

void key_failure_monitor::reset() {
  std::lock_guard guard{mtx_};
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  failing_.clear();
  failing_index_.clear();
  quarantine_ends_.clear();
  latest_.clear();
  records_ = 0;
}

key_failure_monitor::view key_failure_monitor::observe(clock::time_point now) const {
  std::lock_guard guard{mtx_};
  forget_quarantines_before(now);
  view v;
  v.quarantined = quarantine_ends_.size();
  v.quarantines = quarantines_;
  v.tracked = records_;
  for (const auto& k : latest_)
    v.latest.push_back({k.key, k.period,
                        std::chrono::ceil<std::chrono::milliseconds>(k.until - now),
                        k.streak});
  return v;
}

} // namespace troupe::runtime
