#include "keyed_shard.hpp"

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>

#include "messages.hpp"

namespace troupe::runtime {

keyed_shard::keyed_shard(caf::actor_config& cfg, shard_args args)
  : caf::event_based_actor(cfg), args_(std::move(args)) {
  // An activation that dies without passivating (it should not) is forgotten
  // so that the next call for its key creates a fresh one.
  set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
}

void keyed_shard::on_down(const caf::down_msg& dm) {
  auto i = slots_.begin();
  while (i != slots_.end() && i->second.actor.address() != dm.source)
    ++i;
  if (i == slots_.end())
    return;
  auto waiting = std::move(i->second.waiting);
  auto key = i->first;
  slots_.erase(i);
  if (waiting.empty())
    return;
  auto& s = activate(key);
  for (auto& [env, reply] : waiting) {
    ++s.forwarded;
    reply.forward(this, s.actor, std::move(env));
  }
}

keyed_shard::slot& keyed_shard::activate(const std::string& key) {
  auto& s = slots_[key];
  if (!s.actor) {
    activation_args a;
    a.entry = args_.entry;
    a.key = key;
    a.instance_name = *args_.node_name + "/" + args_.entry->name + "[" + key + "]";
    a.node_name = args_.node_name;
    a.directory = args_.directory;
    a.shard = caf::actor_cast<caf::actor>(this);
    a.log = args_.log;
    s.actor = spawn<activation>(std::move(a));
    monitor(s.actor);
    args_.entry->stats->active_actors.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

keyed_shard::slot* keyed_shard::slot_for(const std::string& key) {
  auto i = slots_.find(key);
  if (i == slots_.end())
    return &activate(key);
  return i->second.passivating ? nullptr : &i->second;
}

caf::behavior keyed_shard::make_behavior() {
  return {
    [this](envelope& env) {
      if (auto* s = slot_for(env.key)) {
        ++s->forwarded;
        auto target = s->actor;
        delegate(target, std::move(env));
      } else {
        auto& waiting = slots_[env.key].waiting;
        waiting.emplace_back(std::move(env), reply_to{make_response_promise()});
      }
    },
    [this](local_call& call) {
      if (auto* s = slot_for(call.env.key)) {
        ++s->forwarded;
        send(s->actor, std::move(call));
      } else {
        auto& waiting = slots_[call.env.key].waiting;
        waiting.emplace_back(std::move(call.env), reply_to{std::move(call.done)});
      }
    },
    [this](idle_atom, const std::string& key, std::uint64_t received) {
      auto i = slots_.find(key);
      if (i == slots_.end() || i->second.passivating
          || i->second.forwarded != received)
        return; // a call is on its way: stay active
      // The slot stays until the activation is down (on_down), so that the
      // next activation of this key never overlaps with this one.
      i->second.passivating = true;
      send(i->second.actor, passivate_atom::value);
    },
  };
}

void keyed_shard::on_exit() {
  for (auto& [key, s] : slots_)
    send_exit(s.actor, caf::exit_reason::user_shutdown);
  slots_.clear();
}

} // namespace troupe::runtime
