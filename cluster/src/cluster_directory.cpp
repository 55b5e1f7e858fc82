#include "cluster_directory.hpp"

#include <functional>

namespace troupe::cluster {

std::size_t shard_for(std::string_view key, std::size_t shards) noexcept {
  return std::hash<std::string_view>{}(key) % shards;
}

cluster_directory::cluster_directory(std::uint64_t self,
                                     std::shared_ptr<const runtime::directory> local,
                                     std::shared_ptr<const placement> placed,
                                     std::map<std::uint64_t, member_entry> members,
                                     std::shared_ptr<const lease_state> lease)
  : self_(self),
    local_(std::move(local)),
    placed_(std::move(placed)),
    members_(std::move(members)),
    lease_(std::move(lease)) {
  // Stateless services: every up member's instances, this node's included.
  for (const auto& [id, member] : members_) {
    if (member.state != v1::UP || !member.linked || member.silent)
      continue;
    for (const auto& [service, actors] : member.actors) {
      if (placed_->candidates(service) != nullptr)
        continue;  // keyed
      auto& set = stateless_[service];
      if (!set)
        set = std::make_unique<stateless_set>();
      set->instances.insert(set->instances.end(), actors.begin(), actors.end());
    }
  }
}

runtime::call_target cluster_directory::resolve(std::string_view service,
                                                std::string_view key) const {
  auto* candidates = placed_->candidates(service);
  if (candidates == nullptr) {
    auto i = stateless_.find(service);
    if (i == stateless_.end() || i->second->instances.empty())
      return local_->resolve(service, key);
    auto& set = *i->second;
    auto n = set.next.fetch_add(1, std::memory_order_relaxed);
    return {status{}, set.instances[n % set.instances.size()]};
  }
  // The local directory checks the key (and the service's health) for every
  // keyed call; its shard is the answer when the key is this node's.
  auto local = local_->resolve(service, key);
  if (local.error.code() == status_code::invalid_argument)
    return local;
  auto owner = rendezvous_owner(*candidates, key);
  if (owner == 0)
    return {status{status_code::unavailable,
                   "no up node of the cluster hosts service " + std::string{service}},
            {}};
  if (owner == self_)
    return local;
  if (auto lease = lease_status(*lease_); !lease.is_ok())
    return {std::move(lease), {}};
  auto m = members_.find(owner);
  if (m == members_.end())
    return {status{status_code::unavailable, "the key's node is not a member"}, {}};
  const auto& member = m->second;
  if (member.state == v1::DOWN)
    return {status{status_code::unavailable, down_holder_detail(member.name)}, {}};
  if (member.state != v1::UP && member.state != v1::LEAVING)
    return {status{status_code::unavailable,
                   "this key's node " + member.name + " is not serving yet"},
            {}};
  if (member.silent)
    return {status{status_code::unavailable,
                   "this key's node " + member.name + " does not answer now (its heartbeats "
                     "stopped)"},
            {}};
  auto a = member.actors.find(service);
  if (!member.linked || a == member.actors.end() || a->second.empty())
    return {status{status_code::unavailable,
                   "this key's node " + member.name + " cannot be reached from here now"},
            {}};
  return {status{}, a->second[shard_for(key, a->second.size())]};
}

} // namespace troupe::cluster
