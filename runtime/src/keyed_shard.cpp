#include "keyed_shard.hpp"

#include "reply_mapping.hpp"

namespace troupe::runtime {

keyed_shard::keyed_shard(caf::actor_config& cfg, host_context ctx)
  : activation_host(cfg, ctx), supervisor_(*ctx.entry->key_monitor) {
  if (ctx.ownership != nullptr)
    ownership_.emplace(*ctx.ownership);
}

activation& keyed_shard::activation_for(const std::string& key) {
  auto i = activations_.find(key);
  if (i != activations_.end())
    return *i->second;
  auto& slot = activations_[key];
  slot = std::make_unique<activation>(*this, entry(), key);
  entry().stats->active_actors.fetch_add(1, std::memory_order_relaxed);
  arm_sweep();
  return *slot;
}

activation* keyed_shard::find_activation(const std::string& key) noexcept {
  auto i = activations_.find(key);
  return i != activations_.end() ? i->second.get() : nullptr;
}

void keyed_shard::arm_sweep() {
  // One timer per shard, running only while the shard has activations or
  // records of failed keys.
  if (idle_check_armed_ || (activations_.empty() && supervisor_.empty()))
    return;
  idle_check_armed_ = true;
  arm_idle_check(entry().idle_timeout);
}

void keyed_shard::on_idle_check() {
  idle_check_armed_ = false;
  // A sweep per idle period: cheaper than a timer per key, and an idle key
  // goes between one and two periods after its last call.
  auto& log = this->log();
  bool log_each = log.enabled(log_level::debug);
  std::size_t passivated = 0;
  for (auto i = activations_.begin(); i != activations_.end();) {
    if (i->second->idle_since_last_check()) {
      i->second->stop(status{status_code::unavailable, "the activation passivated"});
      if (log_each)
        log.log(log_level::debug, "key passivated",
                {{"troupe.service", entry().name}, {"troupe.key", i->first}});
      i = activations_.erase(i);
      ++passivated;
    } else {
      ++i;
    }
  }
  entry().stats->active_actors.fetch_sub(passivated, std::memory_order_relaxed);
  supervisor_.expire(key_supervisor::clock::now());
  arm_sweep();
}

supervision_decision keyed_shard::on_failure(const activation& a) {
  auto decision = supervisor_.on_failure(
    a.key(), key_supervisor::clock::now(),
    entry().stats->active_actors.load(std::memory_order_relaxed));
  arm_sweep();
  return decision;
}

std::chrono::milliseconds keyed_shard::quarantine_left(const std::string& key) noexcept {
  return supervisor_.quarantine_left(key, key_supervisor::clock::now());
}

void keyed_shard::on_exit() {
  for (auto& [key, a] : activations_)
    a->stop(status{status_code::unavailable, "the service instance stopped"});
  entry().stats->active_actors.fetch_sub(activations_.size(),
                                         std::memory_order_relaxed);
  activations_.clear();
  for (auto& [env, reply] : parked_)
    reply.deliver(to_reply(status{status_code::unavailable, "the service instance stopped"}));
  parked_.clear();
  if (ownership_)
    ownership_->release();
  activation_host::on_exit();
}

} // namespace troupe::runtime
