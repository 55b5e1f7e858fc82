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

remote_relay::remote_relay(caf::actor_config& cfg) : caf::event_based_actor(cfg) {
  set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
}

caf::behavior remote_relay::make_behavior() {
  return {
    [this](relayed_call& call) {
      start(call.target, call.env, reply_to{std::move(call.done)});
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
    [this](expire_atom) {
      deadlines_.timer_fired();
      deadlines_.expire(unix_now_ns());
      arm_deadline_timer();
    },
  };
}

void remote_relay::start(caf::actor& target, envelope& env, reply_to&& reply) {
  if (!target) {
    reply.deliver(to_reply(status{status_code::unavailable, "no actor serves this call"}));
    return;
  }
  if (calls_.size() >= max_in_flight) {
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
  calls_.emplace(id, in_flight{target.address(), std::move(reply)});
  if (env.deadline_unix_ns != 0) {
    deadline_ids_.emplace(id, deadlines_.add(env.deadline_unix_ns, [this, id] {
      finish(id, to_reply(deadline_passed()));
    }));
    arm_deadline_timer();
  }
  request(target, caf::infinite, std::move(env))
    .then([this, id](reply_envelope& answer) { finish(id, std::move(answer)); },
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
    finish(id, to_reply(node_lost()));
}

void remote_relay::fail_calls_to(const caf::node_id& node, const status& why) {
  std::vector<std::uint64_t> failed;
  for (auto& [id, call] : calls_)
    if (call.target.node() == node)
      failed.push_back(id);
  for (auto id : failed)
    finish(id, to_reply(why));
}

void remote_relay::arm_deadline_timer() {
  if (auto delay = deadlines_.timer_to_arm(unix_now_ns()))
    delayed_send(this, *delay, expire_atom::value);
}

} // namespace troupe::runtime
