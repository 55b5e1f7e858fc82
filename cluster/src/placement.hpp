// Where keys and instances go under one membership epoch: rendezvous
// (highest random weight) hashing of a key over the nodes that may own it, so
// that no table per key exists anywhere and a change of nodes moves only the
// keys of the node that came or went.
//
// Who may own a keyed service's keys:
//   - a service with durable state: the membership's holders that host it,
//     up or down (its keys stay with a node that died: their state is there,
//     and they answer 503 until it returns; placing them elsewhere would
//     start them from nothing);
//   - any other keyed service: the up members that host it.
// Stateless services: the instances of the up members that host them; a
// service with a cluster-wide count has them spread over those members
// (instance_shares).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/cluster/cluster.pb.h"

namespace troupe::cluster {

namespace v1 = troupe::cluster::v1;

/// A key's weight on a node: the same on every node and every platform.
std::uint64_t rendezvous_weight(std::uint64_t node, std::string_view key) noexcept;

/// The node of `candidates` (raft ids) with the highest weight for `key`; 0
/// when there is none.
std::uint64_t rendezvous_owner(std::span<const std::uint64_t> candidates,
                               std::string_view key) noexcept;

/// One epoch's placement of every keyed service.
class placement {
public:
  placement() = default;
  explicit placement(const v1::Membership& m);

  std::uint64_t epoch() const noexcept {
    return epoch_;
  }

  /// The nodes that may own keys of `service`, sorted; null when no member
  /// hosts it.
  const std::vector<std::uint64_t>* candidates(std::string_view service) const;

  /// The owner of `key` of `service`; 0 when no node may own it.
  std::uint64_t owner(std::string_view service, std::string_view key) const;

  /// During a handover: the node that held `key` of durable `service` before
  /// it (0 when none).
  std::uint64_t previous_owner(std::string_view service, std::string_view key) const;

  bool durable(std::string_view service) const;

private:
  std::uint64_t epoch_ = 0;
  std::map<std::string, std::vector<std::uint64_t>, std::less<>> keyed_;
  std::map<std::string, std::vector<std::uint64_t>, std::less<>> previous_;
  std::map<std::string, bool, std::less<>> durable_;
};

/// How many of `total` instances of stateless `service` each up member
/// hosting it runs: an even spread (counts differ by one at most), the
/// larger counts on the members that weigh most for the service's name, so
/// that every member computes the same spread from the same membership.
/// Empty when no up member hosts the service.
std::map<std::uint64_t, std::uint32_t> instance_shares(const v1::Membership& m,
                                                       std::string_view service,
                                                       std::uint32_t total);

/// A member by name or raft id; null when there is none.
const v1::Member* find_member(const v1::Membership& m, std::string_view name);
const v1::Member* find_member(const v1::Membership& m, std::uint64_t raft_id);

/// Whether `member` hosts `service`.
bool hosts(const v1::Member& member, std::string_view service);

std::string_view state_name(v1::MemberState state) noexcept;

/// What a call of a durable key whose state is on member `name`, which is
/// down, is answered (503).
std::string down_holder_detail(const std::string& name);

} // namespace troupe::cluster
