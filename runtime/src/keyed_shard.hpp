// Hosts the activations of a slice of a keyed service's keys on this node:
// creates a key's activation on its first call, serves every call of the key
// through it, and passivates activations that stayed idle. A key lives in
// exactly one shard, and a shard is one actor, so a key never has two
// activations here and its handlers never run concurrently. The shard also
// supervises its keys, each on its own (key_supervisor).
#pragma once

#include <memory>
#include <string>

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

private:
  void arm_sweep();

  // Activations are referred to by address from the calls they serve, so
  // they live on the heap and stay put when the table rehashes.
  string_map<std::unique_ptr<activation>> activations_;
  key_supervisor supervisor_;
  bool idle_check_armed_ = false;
};

} // namespace troupe::runtime
