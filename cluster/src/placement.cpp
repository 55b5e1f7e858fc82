#include "placement.hpp"

#include <algorithm>

namespace troupe::cluster {

namespace {

std::uint64_t fnv1a(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// splitmix64's finalizer: spreads every input bit over the whole word.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t weight_of(std::uint64_t node, std::uint64_t key_hash) noexcept {
  return mix(key_hash ^ mix(node));
}

bool is_holder(const v1::Membership& m, std::uint64_t id) {
  return std::find(m.holders().begin(), m.holders().end(), id) != m.holders().end();
}

} // namespace

std::uint64_t rendezvous_weight(std::uint64_t node, std::string_view key) noexcept {
  return weight_of(node, fnv1a(key));
}

std::uint64_t rendezvous_owner(std::span<const std::uint64_t> candidates,
                               std::string_view key) noexcept {
  auto h = fnv1a(key);
  std::uint64_t best = 0;
  std::uint64_t best_weight = 0;
  for (auto node : candidates) {
    auto w = weight_of(node, h);
    // Ties (never in practice) go to the lower id, the same everywhere.
    if (best == 0 || w > best_weight || (w == best_weight && node < best)) {
      best = node;
      best_weight = w;
    }
  }
  return best;
}

placement::placement(const v1::Membership& m) : epoch_(m.epoch()) {
  for (const auto& member : m.members()) {
    for (const auto& service : member.services()) {
      if (!service.keyed())
        continue;
      durable_[service.name()] = service.durable();
      auto& list = keyed_[service.name()];
      bool candidate = service.durable() ? is_holder(m, member.raft_id())
                                         : member.state() == v1::UP;
      if (candidate)
        list.push_back(member.raft_id());
      if (service.durable()
          && std::find(m.previous_holders().begin(), m.previous_holders().end(),
                       member.raft_id())
               != m.previous_holders().end())
        previous_[service.name()].push_back(member.raft_id());
    }
  }
  for (auto& [name, list] : keyed_)
    std::sort(list.begin(), list.end());
  for (auto& [name, list] : previous_)
    std::sort(list.begin(), list.end());
}

const std::vector<std::uint64_t>* placement::candidates(std::string_view service) const {
  auto i = keyed_.find(service);
  return i == keyed_.end() ? nullptr : &i->second;
}

std::uint64_t placement::owner(std::string_view service, std::string_view key) const {
  auto* list = candidates(service);
  return list == nullptr ? 0 : rendezvous_owner(*list, key);
}

std::uint64_t placement::previous_owner(std::string_view service, std::string_view key) const {
  auto i = previous_.find(service);
  return i == previous_.end() ? 0 : rendezvous_owner(i->second, key);
}

bool placement::durable(std::string_view service) const {
  auto i = durable_.find(service);
  return i != durable_.end() && i->second;
}

const v1::Member* find_member(const v1::Membership& m, std::string_view name) {
  for (const auto& member : m.members())
    if (member.name() == name)
      return &member;
  return nullptr;
}

const v1::Member* find_member(const v1::Membership& m, std::uint64_t raft_id) {
  for (const auto& member : m.members())
    if (member.raft_id() == raft_id)
      return &member;
  return nullptr;
}

std::map<std::uint64_t, std::uint32_t> instance_shares(const v1::Membership& m,
                                                       std::string_view service,
                                                       std::uint32_t total) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranked;  // (weight, raft id)
  auto h = fnv1a(service);
  for (const auto& member : m.members())
    if (member.state() == v1::UP && hosts(member, service))
      ranked.emplace_back(weight_of(member.raft_id(), h), member.raft_id());
  std::map<std::uint64_t, std::uint32_t> shares;
  if (ranked.empty())
    return shares;
  // Heaviest first; ties (never in practice) to the lower id.
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  auto n = static_cast<std::uint32_t>(ranked.size());
  for (std::uint32_t i = 0; i < n; ++i)
    shares[ranked[i].second] = total / n + (i < total % n ? 1 : 0);
  return shares;
}

bool hosts(const v1::Member& member, std::string_view service) {
  for (const auto& s : member.services())
    if (s.name() == service)
      return true;
  return false;
}

std::string down_holder_detail(const std::string& name) {
  return "this key's state is on node " + name
         + ", which is down; the key answers again when that node is back (or, should it "
           "never be, once an operator removes it, giving that state up)";
}

std::string_view state_name(v1::MemberState state) noexcept {
  switch (state) {
    case v1::JOINING:
      return "joining";
    case v1::UP:
      return "up";
    case v1::LEAVING:
      return "leaving";
    case v1::DOWN:
      return "down";
    case v1::REMOVED:
      return "removed";
    default:
      return "unknown";
  }
}

} // namespace troupe::cluster
