#include "remote_relay.hpp"

#include <utility>

#include <caf/exit_reason.hpp>

#include "reply_mapping.hpp"

namespace troupe::runtime {

namespace {

status node_lost() {
  return status{status_code::unavailable,
                "the node serving this call was lost; the call may or may not have run"};
}

} // namespace

remote_relay::remote_relay(caf::actor_config& cfg, const published<directory>* directories)
  : caf::event_based_actor(cfg), directories_(directories) {
  set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
}

caf::behavior remote_relay::make_behavior() {
  return {
    [this](relayed_call& call) {
      std::optional<resend> again;
      if (call.env.idempotent && !call.service.empty())
        again = resend{std::move(call.service), call.env, 1, {}};
      start(call.target, call.env, reply_to{std::move(call.done)}, std::move(again));
    },
    [this](relayed_request& call) -> caf::delegated<reply_envelope> {
      reply_to reply{this};
      reply.keep_past_handler();
      start(call.target, call.env, std::move(reply));
      return {};
    },
    [this](node_declared_down& down) {
      fail_calls_to(down.node, status{status_code::unavailable, std::move(down.why)});
    },
    [this](retry_atom) {
      retry_armed_ = false;
      retry_kept();
    },
    [this](expire_atom) {
      deadlines_.timer_fired();
      deadlines_.expire(unix_now_ns());
      arm_deadline_timer();
    },
  };
}

void remote_relay::start(caf::actor& target, envelope& env, reply_to&& reply,
                         std::optional<resend> again) {
  if (!target) {
    reply.deliver(to_reply(status{status_code::unavailable, "no actor serves this call"}));
    return;
  }
  if (calls_.size() + kept_.size() >= max_in_flight) {
    reply.deliver(to_reply(status{status_code::unavailable,
                                  "too many calls in flight to other nodes"}));
    return;
  }
  if (env.deadline_unix_ns != 0 && env.deadline_unix_ns <= unix_now_ns()) {
    reply.deliver(to_reply(deadline_passed()));
    return;
  }
  auto id = next_id_++;
  // Monitor before sending: a proxy that is dead already answers the monitor
  // with a down_msg at once, which fails the call below.
  if (monitored_.insert(target.address()).second)
    monitor(target);
  calls_.emplace(id, in_flight{target.address(), std::move(reply), std::move(again)});
  if (env.deadline_unix_ns != 0) {
    deadline_ids_.emplace(id, deadlines_.add(env.deadline_unix_ns, [this, id] {
      finish(id, to_reply(deadline_passed()));
    }));
    arm_deadline_timer();
  }
  request(target, caf::infinite, std::move(env))
    .then(
      [this, id](reply_envelope& answer) {
        // A call sent again may reach a node whose view of the membership
        // is behind this one's: it refuses the key, and the call is kept.
        if (answer.code == static_cast<std::int32_t>(status_code::unavailable))
          if (auto i = calls_.find(id);
              i != calls_.end() && i->second.again && i->second.again->sends > 1) {
            auto lost = i->second.again->lost;
            lose(id, lost, status{status_code::unavailable, answer.message});
            return;
          }
        finish(id, std::move(answer));
      },
      [this, id](caf::error& err) { finish(id, to_reply(to_status(err))); });
}

void remote_relay::finish(std::uint64_t id, reply_envelope&& answer) {
  auto i = calls_.find(id);
  if (i == calls_.end())
    return;  // answered already (the node was lost, or the deadline passed)
  auto reply = std::move(i->second.reply);
  calls_.erase(i);
  if (auto d = deadline_ids_.find(id); d != deadline_ids_.end()) {
    deadlines_.complete(d->second);
    deadline_ids_.erase(d);
  }
  reply.deliver(std::move(answer));
}

void remote_relay::on_down(const caf::down_msg& msg) {
  monitored_.erase(msg.source);
  // A lost connection kills every proxy of the node: fail all its calls at
  // the first down_msg. An actor that ended by itself takes only its own.
  bool node_gone = msg.reason == caf::exit_reason::remote_link_unreachable;
  auto lost = msg.source.node();
  std::vector<std::uint64_t> failed;
  for (auto& [id, call] : calls_)
    if (node_gone ? call.target.node() == lost : call.target == msg.source)
      failed.push_back(id);
  for (auto id : failed)
    if (node_gone)
      lose(id, lost, node_lost());
    else
      finish(id, to_reply(node_lost()));
}

void remote_relay::fail_calls_to(const caf::node_id& node, const status& why) {
  std::vector<std::uint64_t> failed;
  for (auto& [id, call] : calls_)
    if (call.target.node() == node)
      failed.push_back(id);
  for (auto id : failed)
    lose(id, node, why);
}

void remote_relay::lose(std::uint64_t id, const caf::node_id& lost, const status& why) {
  auto i = calls_.find(id);
  if (i == calls_.end())
    return;
  if (!i->second.again || i->second.again->sends > max_resends) {
    finish(id, to_reply(why));
    return;
  }
  i->second.again->lost = lost;
  kept_.push_back(kept_call{std::move(*i->second.again), std::move(i->second.reply)});
  calls_.erase(i);
  if (auto d = deadline_ids_.find(id); d != deadline_ids_.end()) {
    deadlines_.complete(d->second);
    deadline_ids_.erase(d);
  }
  if (!retry_armed_) {
    retry_armed_ = true;
    delayed_send(this, retry_interval, retry_atom::value);
  }
}

void remote_relay::retry_kept() {
  auto dir = directories_->load();
  auto now = unix_now_ns();
  std::vector<kept_call> still;
  for (auto& k : kept_) {
    auto& env = k.again.env;
    if (env.deadline_unix_ns != 0 && env.deadline_unix_ns <= now) {
      k.reply.deliver(to_reply(deadline_passed()));
      continue;
    }
    auto target = dir->resolve(k.again.service, env.key);
    if (target.error.is_ok() && target.actor && target.actor.node() != k.again.lost) {
      ++k.again.sends;
      // Sent as a request, to a local actor as well: its host admits a call
      // that was not admitted by its sender (envelope::admitted).
      envelope copy = env;
      copy.admitted = false;
      start(target.actor, copy, std::move(k.reply), std::move(k.again));
      continue;
    }
    // Until the membership places the lost node's keys elsewhere, they
    // resolve to it, or are refused as unavailable.
    if (!target.error.is_ok() && target.error.code() != status_code::unavailable) {
      k.reply.deliver(to_reply(target.error));
      continue;
    }
    still.push_back(std::move(k));
  }
  kept_ = std::move(still);
  if (!kept_.empty() && !retry_armed_) {
    retry_armed_ = true;
    delayed_send(this, retry_interval, retry_atom::value);
  }
}

void remote_relay::arm_deadline_timer() {
  if (auto delay = deadlines_.timer_to_arm(unix_now_ns()))
    delayed_send(this, *delay, expire_atom::value);
}

} // namespace troupe::runtime
