#include "ownership.hpp"

namespace troupe::cluster {

cluster_ownership::cluster_ownership(std::uint64_t self, std::uint64_t settled,
                                     std::vector<std::shared_ptr<const placement>> history,
                                     std::shared_ptr<const lease_state> lease, bool serving,
                                     std::string not_serving)
  : self_(self),
    settled_(settled),
    history_(std::move(history)),
    lease_(std::move(lease)),
    serving_(serving && !history_.empty()),
    not_serving_(std::move(not_serving)) {
}

std::uint64_t cluster_ownership::epoch() const noexcept {
  return history_.empty() ? 0 : history_.back()->epoch();
}

bool cluster_ownership::settled() const noexcept {
  return !history_.empty() && settled_ >= history_.back()->epoch();
}

status lease_status(const lease_state& lease) {
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  if (now >= lease.until_ns.load(std::memory_order_acquire))
    return status{status_code::unavailable,
                  "this node holds no lease from the cluster's majority: it serves no keyed "
                  "actor now"};
  return {};
}

status cluster_ownership::lease() const {
  if (!serving_)
    return status{status_code::unavailable, not_serving_};
  return lease_status(*lease_);
}

runtime::key_ownership::verdict cluster_ownership::check(std::string_view service,
                                                         std::string_view key,
                                                         std::uint64_t since) const {
  if (!serving_)
    return verdict::elsewhere;
  const auto& current = *history_.back();
  if (current.owner(service, key) != self_)
    return verdict::elsewhere;
  // Owned now. Owned without a break since `from`?
  auto from = since != 0 ? since : settled_;
  auto oldest = history_.front()->epoch();
  auto not_proven = since != 0 ? verdict::elsewhere : verdict::wait;
  if (from < oldest)
    return not_proven;
  for (auto i = history_.rbegin(); i != history_.rend(); ++i) {
    const auto& p = **i;
    if (p.epoch() < from)
      break;
    if (p.owner(service, key) != self_)
      return not_proven;
  }
  return verdict::serve;
}

} // namespace troupe::cluster
