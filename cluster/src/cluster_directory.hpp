// The directory a node of a cluster resolves calls through (runtime's
// directory.hpp): a keyed call goes to the shard of the key's owner, found by
// rendezvous hashing over the nodes that may own the service's keys
// (placement.hpp) — this node's own shard, or a proxy of the owner's; a
// stateless call goes round robin over the instances of every up node that
// hosts the service. An immutable snapshot, rebuilt by the cluster agent when
// the membership or a link to a node changes.
//
// A keyed call for another node's key is refused at once (503) while this
// node holds no lease: cut off from the majority, its membership may be
// stale and the owner unreachable, and the call would wait out its deadline.
// So is one whose owner fell silent (until it is heard again or declared
// down), and stateless calls leave a silent member's instances out.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "ownership.hpp"
#include "placement.hpp"
#include "troupe/runtime/directory.hpp"

namespace troupe::cluster {

/// What the directory knows of one member.
struct member_entry {
  std::string name;
  v1::MemberState state = v1::MEMBER_STATE_UNSPECIFIED;
  // The member's actors per service (keyed: shards in its own order;
  // stateless: instances); empty while this node has no link to it.
  std::map<std::string, std::vector<caf::actor>, std::less<>> actors;
  bool linked = false;
  // Its heartbeats stopped (phi past the threshold) and it is not declared
  // down yet: a call sent to it now would wait for its deadline.
  bool silent = false;
};

class cluster_directory final : public runtime::directory {
public:
  cluster_directory(std::uint64_t self, std::shared_ptr<const runtime::directory> local,
                    std::shared_ptr<const placement> placed,
                    std::map<std::uint64_t, member_entry> members,
                    std::shared_ptr<const lease_state> lease);

  runtime::call_target resolve(std::string_view service, std::string_view key) const override;

private:
  struct stateless_set {
    std::vector<caf::actor> instances;
    mutable std::atomic<std::uint64_t> next{0};
  };

  std::uint64_t self_;
  std::shared_ptr<const runtime::directory> local_;
  std::shared_ptr<const placement> placed_;
  std::map<std::uint64_t, member_entry> members_;
  std::shared_ptr<const lease_state> lease_;
  std::map<std::string, std::unique_ptr<stateless_set>, std::less<>> stateless_;
};

/// The shard a node picks for `key` among `shards` of its own: the same
/// hash as the runtime's local directory, so that a key has one shard per node
/// whoever resolves it.
std::size_t shard_for(std::string_view key, std::size_t shards) noexcept;

} // namespace troupe::cluster
