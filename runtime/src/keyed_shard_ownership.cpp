// keyed_shard: which keys this node may serve, once a cluster publishes
// key_ownership snapshots (key_ownership.hpp). Without one (a single node)
// admit() is a pointer test and an atomic load.
//
// Every call is checked against the lease first (a clock read): a node
// without one answers `unavailable` and drops every activation it has, so
// that nothing it held in memory while another node may have served its keys
// ever answers again. A key with an activation here was verified at the last
// fence and is served; a key without one is asked about (check()), and a call
// the node may not serve yet is held ("parked") until a later snapshot
// settles it, or sent on to the key's node when every node agrees where that
// is.
#include <chrono>

#include "keyed_shard.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

namespace {

/// Calls a shard holds while their key settles; more are refused.
constexpr std::size_t max_parked = 10'000;

/// How often held calls are looked at again between snapshots (their
/// deadlines, the lease).
constexpr std::chrono::milliseconds park_check_period{50};

bool ownership_on(const host_context& ctx) noexcept {
  return ctx.ownership_on != nullptr && ctx.ownership_on->load(std::memory_order_acquire);
}

} // namespace

const key_ownership& keyed_shard::current_ownership() {
  auto& own = ownership_->get();
  if (&own != fenced_)
    fence(own);
  return own;
}

bool keyed_shard::admit(envelope& env, reply_to& reply) {
  if (!ownership_ || !ownership_on(context()))
    return true;
  auto& own = current_ownership();
  if (auto lease = own.lease(); !lease.is_ok()) {
    drop_activations(lease);
    reply.deliver(to_reply(lease));
    return false;
  }
  if (find_activation(env.key) != nullptr)
    return true;  // kept by the last fence: this node's key without a break
  return admit_new_key(own, env, reply);
}

bool keyed_shard::admit_new_key(const key_ownership& own, envelope& env, reply_to& reply) {
  switch (own.check(entry().name, env.key, 0)) {
    case key_ownership::verdict::serve:
      return true;
    case key_ownership::verdict::wait:
      park(env, reply);
      return false;
    case key_ownership::verdict::elsewhere:
      // Sent on only when every node has taken up this snapshot: the key's
      // node then knows the key is its own, and the call cannot bounce.
      if (own.settled())
        forward(env, std::move(reply));
      else
        park(env, reply);
      return false;
  }
  return true;
}

void keyed_shard::fence(const key_ownership& own) {
  // An activation stays only if its key was this node's at every epoch since
  // the last fence; the first snapshot keeps none (nothing was verified).
  auto since = fenced_ != nullptr ? fenced_epoch_ : 0;
  std::size_t dropped = 0;
  auto moved = status{status_code::unavailable, "the key moved to another node"};
  for (auto i = activations_.begin(); i != activations_.end();) {
    if (since != 0 && own.check(entry().name, i->first, since) == key_ownership::verdict::serve) {
      ++i;
      continue;
    }
    i->second->stop(moved);
    unlink(*i->second);
    i = activations_.erase(i);
    ++dropped;
  }
  node_bounds().release_activations(entry(), dropped);
  if (dropped > 0)
    publish_size();
  if (dropped > 0)
    log().log(log_level::debug, "activations dropped: their keys moved",
              {{"troupe.service", entry().name},
               {"troupe.activations", std::to_string(dropped)},
               {"troupe.epoch", std::to_string(own.epoch())}});
  fenced_ = &own;
  fenced_epoch_ = own.epoch();
  recheck_parked(own);
}

void keyed_shard::recheck_parked(const key_ownership& own) {
  if (parked_.empty())
    return;
  // The held calls, in order, with what `own` says of them now.
  auto held = std::move(parked_);
  parked_.clear();
  auto lease = own.lease();
  auto now = unix_coarse_now_ns();
  for (auto& [env, reply] : held) {
    if (!lease.is_ok())
      reply.deliver(to_reply(lease));
    else if (env.deadline_unix_ns != 0 && env.deadline_unix_ns < now)
      reply.deliver(to_reply(deadline_passed()));
    else if (find_activation(env.key) != nullptr || admit_new_key(own, env, reply))
      route(env, std::move(reply));
  }
}

void keyed_shard::drop_activations(const status& why) {
  if (activations_.empty())
    return;
  auto dropped = activations_.size();
  for (auto& [key, a] : activations_)
    a->stop(why);
  activations_.clear();
  newest_ = oldest_ = nullptr;
  node_bounds().release_activations(entry(), dropped);
  publish_size();
  log().warn("activations dropped: the node holds no lease",
             {{"troupe.service", entry().name},
              {"troupe.activations", std::to_string(dropped)}});
}

void keyed_shard::park(envelope& env, reply_to& reply) {
  if (parked_.size() >= max_parked) {
    reply.deliver(to_reply(status{status_code::unavailable,
                                  "too many calls wait for their keys to settle between nodes"}));
    return;
  }
  reply.keep_past_handler();
  parked_.emplace_back(std::move(env), std::move(reply));
  if (!park_check_armed_) {
    park_check_armed_ = true;
    arm_park_check(park_check_period);
  }
}

void keyed_shard::on_ownership_fence() {
  if (ownership_ && ownership_on(context()))
    current_ownership();
}

void keyed_shard::on_park_check() {
  park_check_armed_ = false;
  if (parked_.empty() || !ownership_)
    return;
  auto& own = ownership_->get();
  if (&own != fenced_)
    fence(own);  // looks at the held calls too
  else
    recheck_parked(own);
  if (!parked_.empty() && !park_check_armed_) {
    park_check_armed_ = true;
    arm_park_check(park_check_period);
  }
}

} // namespace troupe::runtime
