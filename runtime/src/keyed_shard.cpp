#include "keyed_shard.hpp"

#include "reply_mapping.hpp"

namespace troupe::runtime {

keyed_shard::keyed_shard(caf::actor_config& cfg, host_context ctx)
  : activation_host(cfg, ctx) {
  // nop
}

activation& keyed_shard::activation_for(const std::string& key) {
  auto i = activations_.find(key);
  if (i != activations_.end())
    return *i->second;
  auto& slot = activations_[key];
  slot = std::make_unique<activation>(*this, entry(), key);
  entry().stats->active_actors.fetch_add(1, std::memory_order_relaxed);
  if (!idle_check_armed_) {
    // One timer per shard, running only while the shard has activations.
    idle_check_armed_ = true;
    arm_idle_check(entry().idle_timeout);
  }
  return *slot;
}

activation* keyed_shard::find_activation(const std::string& key) noexcept {
  auto i = activations_.find(key);
  return i != activations_.end() ? i->second.get() : nullptr;
}

void keyed_shard::on_idle_check() {
  // A sweep per idle period: cheaper than a timer per key, and an idle key
  // goes between one and two periods after its last call.
  std::size_t passivated = 0;
  for (auto i = activations_.begin(); i != activations_.end();) {
    if (i->second->idle_since_last_check()) {
      i->second->stop(status{status_code::unavailable, "the activation passivated"});
      i = activations_.erase(i);
      ++passivated;
    } else {
      ++i;
    }
  }
  entry().stats->active_actors.fetch_sub(passivated, std::memory_order_relaxed);
  idle_check_armed_ = !activations_.empty();
  if (idle_check_armed_)
    arm_idle_check(entry().idle_timeout);
}

void keyed_shard::on_exit() {
  for (auto& [key, a] : activations_)
    a->stop(status{status_code::unavailable, "the service instance stopped"});
  entry().stats->active_actors.fetch_sub(activations_.size(),
                                         std::memory_order_relaxed);
  activations_.clear();
  activation_host::on_exit();
}

} // namespace troupe::runtime
