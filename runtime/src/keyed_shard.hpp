// Hosts the activations of a slice of a keyed service's keys on this node:
// creates a key's activation on its first call, serves every call of the key
// through it, and passivates activations that stayed idle. A key lives in
// exactly one shard, and a shard is one actor, so a key never has two
// activations here and its handlers never run concurrently. The shard also
// supervises its keys, each on its own (key_supervisor).
//
// Activations are bounded per node (--max-activations) and optionally per
// service (max_activations). A shard that needs room for a new key passivates
// its own least recently called activation that has nothing in progress.
// When it has none, it keeps the key's calls (bounded like a mailbox) and asks
// the other shards for room, the one with the most activations first: each
// passivates its own least recently called idle ones. When no shard can, the
// calls kept are refused (unavailable, retry later). Each shard keeps its own
// recency list, touched only on its own thread: recency is exact within a
// shard and approximate across the node, and no call takes a lock or touches
// another core's memory for it; shards talk only when one runs out of room.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "activation.hpp"
#include "activation_host.hpp"
#include "key_supervisor.hpp"
#include "string_map.hpp"

namespace troupe::runtime {

class keyed_shard : public activation_host {
public:
  keyed_shard(caf::actor_config& cfg, host_context ctx);

  void on_exit() override;

  const char* name() const override {
    return "troupe.keyed_shard";
  }

protected:
  void route(envelope& env, reply_to&& reply) override;
  activation* find_activation(const std::string& key) noexcept override;
  void on_idle_check() override;
  std::uint64_t make_room(std::uint64_t wanted) override;
  supervision_decision on_failure(const activation& a) override;
  std::chrono::milliseconds quarantine_left(const std::string& key) noexcept override;

  // -- which keys this node may serve (keyed_shard_ownership.cpp) -------------
  bool admit(envelope& env, reply_to& reply) override;
  void on_ownership_fence() override;
  void on_park_check() override;

private:
  using table = string_map<std::unique_ptr<activation>>;

  /// A call for a new key, waiting for room.
  struct awaiting_call {
    envelope env;
    reply_to reply;
  };

  void arm_sweep();

  /// `key`'s new activation, if the bounds allow one after this shard
  /// passivated its own least recently called idle one; otherwise null,
  /// with the bound in `why`.
  activation* try_create(const std::string& key, shed_reason& why);

  /// Keeps a call until there is room, or refuses it when too many wait.
  void await_room(envelope& env, reply_to&& reply);

  /// Asks the next shard for room; refuses what waits when none is left.
  void ask_for_room();

  /// Serves what waits for room, in order, as far as there is room.
  void serve_awaiting();

  void refuse(reply_to& reply, shed_reason why);

  /// The number of activations, for other shards to see.
  void publish_size() noexcept;

  /// Passivates up to `n` of the least recently called activations that
  /// have nothing in progress, looking at `scan` at most; how many went.
  std::size_t passivate_oldest(std::size_t n, std::size_t scan);

  /// Stops and drops the activation at `i` (the caller gives back its
  /// count); the next position.
  table::iterator drop(table::iterator i, const char* why);

  // The recency list: newest_ is the latest called, oldest_ the first to go.
  void link_newest(activation& a) noexcept;
  void unlink(activation& a) noexcept;
  void touch(activation& a) noexcept {
    if (newest_ != &a) {
      unlink(a);
      link_newest(a);
    }
  }

  // -- which keys this node may serve (keyed_shard_ownership.cpp) -------------
  using parked_call = std::pair<envelope, reply_to>;

  /// The current snapshot, applied (fenced) when it is new.
  const key_ownership& current_ownership();

  /// Drops the activations `own` does not let this shard keep.
  void fence(const key_ownership& own);

  /// Passivates every activation, answering what waits in them with `why`.
  void drop_activations(const status& why);

  /// Decides a call for a key without an activation here: serve (true),
  /// or answered, held or sent on (false, `reply` taken).
  bool admit_new_key(const key_ownership& own, envelope& env, reply_to& reply);

  void park(envelope& env, reply_to& reply);

  /// Answers, serves or holds again the held calls, as `own` says.
  void recheck_parked(const key_ownership& own);

  /// Calls held while another node may still serve their key (bounded).
  std::deque<parked_call> parked_;
  bool park_check_armed_ = false;
  std::optional<published<key_ownership>::reader> ownership_;
  const key_ownership* fenced_ = nullptr;  // the snapshot applied last
  std::uint64_t fenced_epoch_ = 0;

  // Activations are referred to by address from the calls they serve, so
  // they live on the heap and stay put when the table rehashes.
  table activations_;
  activation* newest_ = nullptr;
  activation* oldest_ = nullptr;
  key_supervisor supervisor_;
  bool idle_check_armed_ = false;
  std::deque<awaiting_call> awaiting_;     // new keys' calls waiting for room
  shed_reason awaiting_bound_ = shed_reason::activations;
  std::vector<caf::actor> room_candidates_;  // shards still to ask, in order
  std::size_t next_candidate_ = 0;
  bool asking_ = false;                     // a request for room is out
};

} // namespace troupe::runtime
