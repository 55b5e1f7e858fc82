// The leader's lease, from its followers' answers. A leader serves keyed
// actors, and grants leases to the others, only while a majority of the
// voters followed it recently; "recently" is measured by the leader's own
// heartbeats: each follower's heartbeat names the leader it follows and the
// last heartbeat it had from it, and the leader looks up when it sent that
// one. A majority that followed it at time T elects no other leader before T
// plus an election timeout, so the lease may run from T.
//
// Only an answer proves contact: heartbeats that merely arrive (those that
// waited in a frozen leader's sockets, say) prove nothing newer than when
// their sender sent them.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

namespace troupe::cluster {

using lease_clock = std::chrono::steady_clock;

/// The newest time T such that a majority of `voters` answered a heartbeat
/// the leader sent at or after T. `answered` holds one entry per voter that
/// answered any (the leader itself counts as answering at `now`, and is
/// included by the caller); nullopt when fewer than a majority did.
std::optional<lease_clock::time_point>
majority_answered_at(std::vector<lease_clock::time_point> answered, std::size_t voters);

} // namespace troupe::cluster
