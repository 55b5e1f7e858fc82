#include "membership.hpp"

#include <algorithm>
#include <tuple>
#include <vector>

#include "placement.hpp"

namespace troupe::cluster {

namespace {

v1::Member* find_mutable(v1::Membership& m, std::string_view name) {
  for (auto& member : *m.mutable_members())
    if (member.name() == name)
      return &member;
  return nullptr;
}

bool contains(const google::protobuf::RepeatedField<std::uint64_t>& list, std::uint64_t id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

bool hosts_durable(const v1::Member& member) {
  for (const auto& s : member.services())
    if (s.keyed() && s.durable())
      return true;
  return false;
}

/// The holders the members' states call for: up members; joining and down
/// ones that held already (a node that failed keeps its keys until it comes
/// back: their only copy is in its store, and placing them elsewhere would
/// start them from nothing); leaving ones only until their own handover.
std::vector<std::uint64_t> wanted_holders(const v1::Membership& m, bool drop_leaving) {
  std::vector<std::uint64_t> result;
  for (const auto& member : m.members()) {
    bool held = contains(m.holders(), member.raft_id());
    switch (member.state()) {
      case v1::UP:
        result.push_back(member.raft_id());
        break;
      case v1::DOWN:
      case v1::JOINING:
        if (held)
          result.push_back(member.raft_id());
        break;
      case v1::LEAVING:
        if (held && !drop_leaving)
          result.push_back(member.raft_id());
        break;
      default:
        break;
    }
  }
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<std::uint64_t> sorted(const google::protobuf::RepeatedField<std::uint64_t>& list) {
  std::vector<std::uint64_t> result(list.begin(), list.end());
  std::sort(result.begin(), result.end());
  return result;
}

/// Marks done the previous holders that have nothing to push: those that
/// host no durable service, and removed ones (an operator gave their keys
/// up). A down one is waited for: it pushes when it is back.
void mark_trivially_done(v1::Membership& m) {
  for (auto id : m.previous_holders()) {
    if (contains(m.handed_over(), id))
      continue;
    auto* member = find_member(m, id);
    if (member == nullptr || member->state() == v1::REMOVED || !hosts_durable(*member))
      m.add_handed_over(id);
  }
}

void complete_handover_if_done(v1::Membership& m, std::string& note);

/// Starts a handover to the holders the members' states call for, unless
/// one runs or nothing changes.
void reconcile_holders(v1::Membership& m, std::string& note) {
  if (m.handover() != 0)
    return;
  auto next = wanted_holders(m, true);
  if (next == sorted(m.holders()))
    return;
  m.mutable_previous_holders()->Assign(m.holders().begin(), m.holders().end());
  m.mutable_holders()->Assign(next.begin(), next.end());
  m.clear_handed_over();
  m.set_handover(m.epoch());
  note += "; handover " + std::to_string(m.handover()) + " started";
  mark_trivially_done(m);
  complete_handover_if_done(m, note);
}

void complete_handover_if_done(v1::Membership& m, std::string& note) {
  if (m.handover() == 0)
    return;
  for (auto id : m.previous_holders())
    if (!contains(m.handed_over(), id))
      return;
  note += "; handover " + std::to_string(m.handover()) + " complete";
  m.clear_previous_holders();
  m.clear_handed_over();
  m.set_handover(0);
  // Leaving members that hold nothing now have left.
  for (auto& member : *m.mutable_members())
    if (member.state() == v1::LEAVING && !contains(m.holders(), member.raft_id())) {
      member.set_state(v1::REMOVED);
      member.set_voter(false);
      note += "; " + member.name() + " removed";
    }
  reconcile_holders(m, note);
}

void set_state(v1::Member& member, v1::MemberState state, std::int64_t at) {
  member.set_state(state);
  member.set_changed_at_unix_ms(at);
}

bool forgettable(const v1::Member& member) {
  return member.state() == v1::REMOVED && !member.gave_up_state();
}

/// Records past `max_removed_records` REMOVED ones are dropped, the
/// oldest first (by their change's time, then name: the same on every node).
void prune_removed(v1::Membership& m, std::string& note) {
  auto& members = *m.mutable_members();
  auto removed = std::count_if(members.begin(), members.end(), forgettable);
  while (removed > static_cast<std::ptrdiff_t>(max_removed_records)) {
    auto oldest = members.end();
    for (auto i = members.begin(); i != members.end(); ++i)
      if (forgettable(*i)
          && (oldest == members.end()
              || std::make_tuple(i->changed_at_unix_ms(), std::string_view{i->name()})
                   < std::make_tuple(oldest->changed_at_unix_ms(),
                                     std::string_view{oldest->name()})))
        oldest = i;
    note += "; the record of " + oldest->name() + " dropped";
    members.erase(oldest);
    --removed;
  }
}

std::size_t counted_records(const v1::Membership& m) {
  return static_cast<std::size_t>(std::count_if(
    m.members().begin(), m.members().end(), [](const v1::Member& member) {
      return !forgettable(member);
    }));
}

} // namespace

bool may_admit(const v1::Membership& m, const std::string& name, std::uint64_t raft_id,
               std::string& reason) {
  const auto* existing = find_member(m, name);
  if (existing == nullptr) {
    if (counted_records(m) < max_members)
      return true;
    reason = "the cluster has " + std::to_string(max_members)
             + " members, as many as it keeps; remove members that are down for good first";
    return false;
  }
  if (existing->raft_id() == raft_id && existing->gave_up_state()) {
    reason = "node " + name + " was removed from the cluster while it was down, and the state "
             "of the keys it held was given up: its data directory holds stale copies; start it "
             "with an empty --data";
    return false;
  }
  if (existing->raft_id() == raft_id || existing->state() == v1::REMOVED)
    return true;
  reason = "the name " + name + " belongs to another node of this cluster (" +
           std::string{state_name(existing->state())} + ")";
  return false;
}

std::string why_not_removable(const v1::Member& member) {
  if (member.state() == v1::DOWN)
    return {};
  return member.name() + " is " + std::string{state_name(member.state())}
         + ": only a member that is down can be removed"
         + (member.state() == v1::UP ? " (drain it instead)" : "");
}

unsigned voter_count(const v1::Membership& m) {
  unsigned n = 0;
  for (const auto& member : m.members())
    if (member.voter() && member.state() != v1::REMOVED)
      ++n;
  return n;
}

bool apply_command(v1::Membership& m, const v1::Command& command, std::string& note) {
  auto at = command.at_unix_ms();
  switch (command.kind_case()) {
    case v1::Command::kCreate:
      if (!m.cluster_name().empty())
        return false;
      m.set_cluster_name(command.create().cluster_name());
      note = "cluster " + m.cluster_name() + " created";
      break;
    case v1::Command::kJoin: {
      const auto& candidate = command.join();
      std::string refused;
      if (!may_admit(m, candidate.name(), candidate.raft_id(), refused)) {
        note = refused;
        return false;
      }
      auto* member = find_mutable(m, candidate.name());
      std::uint64_t incarnation = 1;
      bool voter = false;
      if (member != nullptr) {
        incarnation = member->incarnation() + 1;
        voter = member->voter() && member->raft_id() == candidate.raft_id();
        // A removed member's name taken by another node: a fresh record.
        if (member->raft_id() != candidate.raft_id()) {
          auto old = member->raft_id();
          auto erase = [old](google::protobuf::RepeatedField<std::uint64_t>* list) {
            list->erase(std::remove(list->begin(), list->end(), old), list->end());
          };
          erase(m.mutable_holders());
          voter = false;
        }
      } else {
        member = m.add_members();
      }
      *member = candidate;
      member->set_incarnation(incarnation);
      member->set_voter(voter);
      member->set_up_epoch(0);
      member->set_joined_epoch(m.epoch() + 1);
      set_state(*member, v1::JOINING, at);
      note = candidate.name() + " joining as incarnation " + std::to_string(incarnation);
      break;
    }
    case v1::Command::kUp: {
      auto* member = find_mutable(m, command.up().name());
      if (member == nullptr || member->incarnation() != command.up().incarnation()
          || member->state() != v1::JOINING)
        return false;
      set_state(*member, v1::UP, at);
      member->set_up_epoch(m.epoch() + 1);
      note = member->name() + " up";
      break;
    }
    case v1::Command::kDown: {
      auto* member = find_mutable(m, command.down().name());
      if (member == nullptr || member->incarnation() != command.down().incarnation()
          || (member->state() != v1::UP && member->state() != v1::JOINING
              && member->state() != v1::LEAVING))
        return false;
      set_state(*member, v1::DOWN, at);
      note = member->name() + " down";
      break;
    }
    case v1::Command::kLeave: {
      auto* member = find_mutable(m, command.leave().name());
      if (member == nullptr || member->incarnation() != command.leave().incarnation()
          || member->state() != v1::UP)
        return false;
      set_state(*member, v1::LEAVING, at);
      note = member->name() + " leaving";
      break;
    }
    case v1::Command::kHandoverDone: {
      const auto& done = command.handover_done();
      auto* member = find_member(m, done.name());
      if (member == nullptr || m.handover() == 0 || done.handover() != m.handover()
          || !contains(m.previous_holders(), member->raft_id())
          || contains(m.handed_over(), member->raft_id()))
        return false;
      m.add_handed_over(member->raft_id());
      note = member->name() + " handed over its keys";
      break;
    }
    case v1::Command::kPromote: {
      auto* member = find_mutable(m, command.promote().name());
      if (member == nullptr || member->voter() || member->state() == v1::REMOVED)
        return false;
      member->set_voter(true);
      note = member->name() + " votes";
      break;
    }
    case v1::Command::kRemove: {
      auto* member = find_mutable(m, command.remove().name());
      if (member == nullptr || member->state() != v1::DOWN
          || (command.remove().incarnation() != 0
              && member->incarnation() != command.remove().incarnation()))
        return false;
      auto id = member->raft_id();
      set_state(*member, v1::REMOVED, at);
      member->set_voter(false);
      member->set_gave_up_state(contains(m.holders(), id) && hosts_durable(*member));
      auto erase = [id](google::protobuf::RepeatedField<std::uint64_t>* list) {
        list->erase(std::remove(list->begin(), list->end(), id), list->end());
      };
      erase(m.mutable_holders());
      if (contains(m.previous_holders(), id) && !contains(m.handed_over(), id))
        m.add_handed_over(id);
      note = member->name() + " removed";
      break;
    }
    default:
      return false;
  }
  m.set_epoch(m.epoch() + 1);
  complete_handover_if_done(m, note);
  reconcile_holders(m, note);
  prune_removed(m, note);
  return true;
}

} // namespace troupe::cluster
