// Hosts the activations of a slice of a keyed service's keys on this node:
// creates a key's activation on its first call, serves every call of the key
// through it, and passivates activations that stayed idle. A key lives in
// exactly one shard, and a shard is one actor, so a key never has two
// activations here and its handlers never run concurrently. The shard also
// supervises its keys, each on its own (key_supervisor).
#pragma once

#include <cstdint>
#include <deque>
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
  activation& activation_for(const std::string& key) override;
  activation* find_activation(const std::string& key) noexcept override;
  void on_idle_check() override;
  supervision_decision on_failure(const activation& a) override;
  std::chrono::milliseconds quarantine_left(const std::string& key) noexcept override;

  // -- which keys this node may serve (keyed_shard_ownership.cpp) -------------
  bool admit(envelope& env, reply_to& reply) override;
  void on_ownership_fence() override;
  void on_park_check() override;

private:
  void arm_sweep();

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
  string_map<std::unique_ptr<activation>> activations_;
  key_supervisor supervisor_;
  bool idle_check_armed_ = false;
};

} // namespace troupe::runtime
