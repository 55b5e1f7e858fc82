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
//
// Removal by an operator (Remove): only of a DOWN member, one that is not
// coming back. It stops being a holder, so its durable keys are placed on
// the others and start there from no state: the operator gives that state
// up (until replication, its store held the only copy). Such a member is
// marked `gave_up_state` and is not admitted again with that store.
//
// Bounds: at most `max_members` records that are not REMOVED (a join past
// it is refused, naming the bound) and at most `max_removed_records`
// REMOVED ones kept for the listing, the oldest dropped first; records of
// members whose state was given up are kept regardless (they refuse a stale
// store) and count towards `max_members`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "troupe/cluster/cluster.pb.h"

namespace troupe::cluster {

namespace v1 = troupe::cluster::v1;

inline constexpr std::size_t max_members = 1024;
inline constexpr std::size_t max_removed_records = 64;

/// Applies `command` to `m`; true when it changed anything (the epoch is then
/// one higher). `note` says what happened, for the log.
bool apply_command(v1::Membership& m, const v1::Command& command, std::string& note);

/// Whether a node named `name` with the given raft id may be (re)admitted:
/// its name is new (and the membership below `max_members`), or it is the
/// same node (same raft id) unless an operator removed it and gave its
/// state up, or the name's holder was REMOVED. A name held by another node
/// that is not REMOVED is refused.
bool may_admit(const v1::Membership& m, const std::string& name, std::uint64_t raft_id,
               std::string& reason);

/// Why an operator may not remove `member` now (it is not down); empty when
/// it may.
std::string why_not_removable(const v1::Member& member);

/// Members that vote in the consensus.
unsigned voter_count(const v1::Membership& m);

} // namespace troupe::cluster
