// Owns the activations of a slice of a keyed service's keys on this node:
// creates the activation for a key on its first call, forwards calls to it
// (the reply goes straight back to the caller), and passivates it when it
// reports itself idle with no call forwarded since. Because every call for a
// key passes through its one shard, a key never has two activations here: a
// call arriving while the key's activation passivates waits until it is gone.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/system_messages.hpp>
#include <caf/response_promise.hpp>

#include <caf/event_based_actor.hpp>

#include "activation.hpp"

namespace troupe::runtime {

struct shard_args {
  const service_entry* entry = nullptr;
  size_t index = 0;
  const std::string* node_name = nullptr;
  const service_directory* directory = nullptr;
  logger* log = nullptr;
};

class keyed_shard : public caf::event_based_actor {
public:
  keyed_shard(caf::actor_config& cfg, shard_args args);

  caf::behavior make_behavior() override;

  void on_exit() override;

  const char* name() const override {
    return "troupe.keyed_shard";
  }

private:
  struct slot {
    caf::actor actor;
    std::uint64_t forwarded = 0;
    bool passivating = false;
    // Calls that arrived while passivating, forwarded to the next activation.
    std::vector<std::pair<envelope, reply_to>> waiting;
  };

  slot& activate(const std::string& key);
  /// Where a call for `key` goes now (activating the key if needed), or
  /// nullptr while the key's activation passivates: the call then waits.
  slot* slot_for(const std::string& key);

  void on_down(const caf::down_msg& dm);

  shard_args args_;
  std::unordered_map<std::string, slot> slots_;
};

} // namespace troupe::runtime
