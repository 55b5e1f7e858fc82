#include "keyed_shard.hpp"

#include <algorithm>

#include "reply_mapping.hpp"

namespace troupe::runtime {

namespace {

/// How many of its oldest activations a shard looks at for one that can go,
/// per activation it needs to passivate: a shard whose oldest are all busy
/// gives up rather than walk every key on a call's path.
constexpr std::size_t scan_per_passivation = 16;

/// A new key may lose the room it made to another shard's new key; it tries
/// again this often before it asks other shards.
constexpr int room_attempts = 3;

/// Activations one request for room asks a shard to passivate, at most.
constexpr std::uint64_t max_room_request = 64;

/// How long a shard waits for another to answer a request for room: one
/// that is busy (a blocking service's shard in a long handler) is skipped.
constexpr std::chrono::milliseconds room_request_timeout{250};

} // namespace

keyed_shard::keyed_shard(caf::actor_config& cfg, host_context ctx)
  : activation_host(cfg, std::move(ctx)), supervisor_(*entry().key_monitor) {
  if (context().ownership != nullptr)
    ownership_.emplace(*context().ownership);
}

void keyed_shard::route(envelope& env, reply_to&& reply) {
  auto i = activations_.find(env.key);
  if (i != activations_.end()) {
    touch(*i->second);
    i->second->receive(env, std::move(reply));
    return;
  }
  // New keys queue behind those already waiting for room.
  shed_reason why = shed_reason::activations;
  if (awaiting_.empty()) {
    if (auto* a = try_create(env.key, why)) {
      a->receive(env, std::move(reply));
      return;
    }
    awaiting_bound_ = why;
  }
  await_room(env, std::move(reply));
  if (!asking_) {
    // A round over the other shards, those with the most activations first.
    room_candidates_ = node_bounds().room_candidates(
      awaiting_bound_ == shed_reason::service_activations ? &entry() : nullptr, own_load());
    next_candidate_ = 0;
    ask_for_room();
  }
}

activation* keyed_shard::try_create(const std::string& key, shed_reason& why) {
  auto& bounds = node_bounds();
  for (int attempt = 0; attempt < room_attempts; ++attempt) {
    auto room = bounds.reserve_activation(entry());
    if (room == node_load::room::granted) {
      auto& slot = activations_[key];
      slot = std::make_unique<activation>(*this, entry(), key);
      link_newest(*slot);
      publish_size();
      arm_sweep();
      return slot.get();
    }
    why = room == node_load::room::service_full ? shed_reason::service_activations
                                                : shed_reason::activations;
    // At a bound: this shard's own least recently called activation makes
    // room, if one can go.
    if (passivate_oldest(1, scan_per_passivation) == 0)
      return nullptr;
  }
  return nullptr;
}

void keyed_shard::await_room(envelope& env, reply_to&& reply) {
  if (awaiting_.size() >= node_bounds().max_mailbox()) {
    refuse(reply, awaiting_bound_);
    return;
  }
  reply.keep_past_handler();
  awaiting_.push_back({std::move(env), std::move(reply)});
}

void keyed_shard::ask_for_room() {
  if (next_candidate_ >= room_candidates_.size()) {
    // No shard could make room: the waiting calls are refused.
    asking_ = false;
    room_candidates_.clear();
    for (auto& call : awaiting_)
      refuse(call.reply, awaiting_bound_);
    awaiting_.clear();
    return;
  }
  asking_ = true;
  auto wanted = std::min<std::uint64_t>(awaiting_.size(), max_room_request);
  request(room_candidates_[next_candidate_++], room_request_timeout, make_room_atom::value,
          wanted)
    .then([this](std::uint64_t) { serve_awaiting(); },
          [this](caf::error&) { serve_awaiting(); });
}

void keyed_shard::serve_awaiting() {
  while (!awaiting_.empty()) {
    auto& call = awaiting_.front();
    activation* a = find_activation(call.env.key);
    if (a != nullptr) {
      touch(*a);
    } else {
      shed_reason why = awaiting_bound_;
      a = try_create(call.env.key, why);
      if (a == nullptr)
        break;
    }
    auto waited = std::move(call);
    awaiting_.pop_front();
    a->receive(waited.env, std::move(waited.reply));
  }
  if (awaiting_.empty()) {
    asking_ = false;
    room_candidates_.clear();
    return;
  }
  ask_for_room();
}

void keyed_shard::refuse(reply_to& reply, shed_reason why) {
  count_shed(why);
  reply.deliver(node_bounds().shed_reply(why, entry()));
}

void keyed_shard::publish_size() noexcept {
  own_load().set_activations(activations_.size());
}

activation* keyed_shard::find_activation(const std::string& key) noexcept {
  auto i = activations_.find(key);
  return i != activations_.end() ? i->second.get() : nullptr;
}

void keyed_shard::link_newest(activation& a) noexcept {
  a.recency.newer = nullptr;
  a.recency.older = newest_;
  if (newest_ != nullptr)
    newest_->recency.newer = &a;
  newest_ = &a;
  if (oldest_ == nullptr)
    oldest_ = &a;
}

void keyed_shard::unlink(activation& a) noexcept {
  if (a.recency.newer != nullptr)
    a.recency.newer->recency.older = a.recency.older;
  else
    newest_ = a.recency.older;
  if (a.recency.older != nullptr)
    a.recency.older->recency.newer = a.recency.newer;
  else
    oldest_ = a.recency.newer;
  a.recency = {};
}

keyed_shard::table::iterator keyed_shard::drop(table::iterator i, const char* why) {
  i->second->stop(status{status_code::unavailable, "the activation passivated"});
  auto& log = this->log();
  if (log.enabled(log_level::debug))
    log.log(log_level::debug, why, {{"troupe.service", entry().name}, {"troupe.key", i->first}});
  unlink(*i->second);
  return activations_.erase(i);
}

std::size_t keyed_shard::passivate_oldest(std::size_t n, std::size_t scan) {
  std::size_t gone = 0;
  auto* a = oldest_;
  for (std::size_t looked = 0; a != nullptr && gone < n && looked < scan; ++looked) {
    auto* next = a->recency.newer;
    if (a->passivatable()) {
      drop(activations_.find(a->key()), "key passivated early: the node needs room");
      ++gone;
    }
    a = next;
  }
  node_bounds().release_activations(entry(), gone);
  if (gone > 0)
    publish_size();
  return gone;
}

std::uint64_t keyed_shard::make_room(std::uint64_t wanted) {
  auto n = static_cast<std::size_t>(std::min(wanted, max_room_request));
  return passivate_oldest(n, n * scan_per_passivation);
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
  std::size_t passivated = 0;
  for (auto i = activations_.begin(); i != activations_.end();) {
    if (i->second->idle_since_last_check()) {
      i = drop(i, "key passivated");
      ++passivated;
    } else {
      ++i;
    }
  }
  node_bounds().release_activations(entry(), passivated);
  publish_size();
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
  for (auto& call : awaiting_)
    call.reply.deliver(to_reply(status{status_code::unavailable, "the service instance stopped"}));
  awaiting_.clear();
  room_candidates_.clear();  // handles of other shards: none kept past the end
  for (auto& [key, a] : activations_)
    a->stop(status{status_code::unavailable, "the service instance stopped"});
  node_bounds().release_activations(entry(), activations_.size());
  activations_.clear();
  newest_ = oldest_ = nullptr;
  for (auto& [env, reply] : parked_)
    reply.deliver(to_reply(status{status_code::unavailable, "the service instance stopped"}));
  parked_.clear();
  if (ownership_)
    ownership_->release();
  activation_host::on_exit();
}

} // namespace troupe::runtime
