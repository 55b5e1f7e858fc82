// The replicated state machine: how each command of the raft log changes the
// membership. Deterministic (the same log gives the same membership on every
// node) and free of I/O, so that it is tested on its own.
//
// Member states: JOINING (admitted with a new incarnation) -> UP -> LEAVING
// -> REMOVED, and DOWN from JOINING, UP or LEAVING; a DOWN or REMOVED member
// comes back only by joining again, as the next incarnation.
//
// Holders and handovers: keys of services with durable state are placed over
// the holders (placement.hpp). Members become holders when they come up and
// stop being holders when they leave; a DOWN member stays one. A change of
// holders starts a handover: each previous holder pushes the durable keys it
// no longer owns to their new holders and reports done (HandoverDone); when
// all have, the handover completes, LEAVING members that hold nothing are
// REMOVED, and changes that waited (members that came up or started leaving
// meanwhile) start the next one. One handover at a time keeps the rule
// simple: a key's state is at its owner under the previous holders until that
// owner reports done.
#pragma once

#include <cstdint>
#include <string>

#include "troupe/cluster/cluster.pb.h"

namespace troupe::cluster {

namespace v1 = troupe::cluster::v1;

/// Applies `command` to `m`; true when it changed anything (the epoch is then
/// one higher). `note` says what happened, for the log.
bool apply_command(v1::Membership& m, const v1::Command& command, std::string& note);

/// Whether `m` has a member named `name` with the given raft id that may be
/// (re)admitted: absent, or the same node (same raft id). A name held by
/// another node that is not REMOVED is refused.
bool may_admit(const v1::Membership& m, const std::string& name, std::uint64_t raft_id,
               std::string& reason);

/// Members that vote in the consensus.
unsigned voter_count(const v1::Membership& m);

} // namespace troupe::cluster
