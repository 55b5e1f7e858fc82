#include "activation_host.hpp"

#include <memory>
#include <utility>

#include <caf/send.hpp>

#include "activation.hpp"
#include "remote_relay.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

activation_host::activation_host(caf::actor_config& cfg, host_context ctx)
  : caf::event_based_actor(cfg),
    ctx_(ctx),
    directory_(*ctx.directories),
    calls_(ctx.entry->stats->calls.new_slot()) {
  // nop
}

caf::behavior activation_host::make_behavior() {
  return {
    [this](envelope& env) -> caf::delegated<reply_envelope> {
      // The activation answers through reply_to (now, or later through a
      // response promise): CAF has nothing left to send for this handler.
      route(env, reply_to{this});
      return {};
    },
    [this](local_call& call) -> caf::delegated<reply_envelope> {
      // Answered through its completion; a void result would still cost a
      // trip through CAF's result visitor.
      route(call.env, reply_to{std::move(call.done)});
      return {};
    },
    [this](restart_atom, const std::string& key, std::uint64_t incarnation) {
      if (auto* a = find_activation(key))
        a->restart(incarnation);
    },
    [this](deferred_work& work) { work.fn(); },
    [this](state_loaded& loaded) {
      if (auto* a = find_activation(loaded.key))
        a->state_loaded(loaded.incarnation, std::move(loaded.result), std::move(loaded.stored));
    },
    [this](const state_saved& saved) {
      if (auto* a = find_activation(saved.key))
        a->state_saved(saved.result);
    },
    [this](expire_atom) {
      deadlines_.timer_fired();
      deadlines_.expire(unix_now_ns());
      arm_deadline_timer();
    },
    [this](idle_check_atom) { on_idle_check(); },
    [this](ownership_fence& fence) {
      on_ownership_fence();
      fence.countdown->done();
    },
    [this](park_check_atom) { on_park_check(); },
  };
}

void activation_host::on_exit() {
  directory_.release();
}

void activation_host::route(envelope& env, reply_to&& reply) {
  if (!admit(env, reply))
    return;
  activation_for(env.key).receive(env, std::move(reply));
}

template <class F>
void activation_host::resume(const call_origin& origin, F&& f) {
  // A caller with calls pending is never passivated, so it is still here
  // unless the host itself is stopping.
  if (auto* a = find_activation(origin.key)) {
    a->call_finished();
    a->continue_with(origin.incarnation, std::forward<F>(f));
  }
}

template <class OnAnswer>
void activation_host::send_request(const caf::actor& target, envelope env, OnAnswer on_answer) {
  auto shared = std::make_shared<OnAnswer>(std::move(on_answer));
  // Every request carries a deadline: a call without one gets a minute.
  if (env.deadline_unix_ns == 0)
    env.deadline_unix_ns = unix_now_ns() + std::int64_t{60} * 1'000'000'000;
  auto id = deadlines_.add(env.deadline_unix_ns, [shared] {
    (*shared)(to_reply(deadline_passed()));
  });
  arm_deadline_timer();
  auto answered = [this, shared, id](reply_envelope& r) {
    if (deadlines_.complete(id))
      (*shared)(std::move(r));
  };
  auto failed = [this, shared, id](caf::error& err) {
    if (deadlines_.complete(id))
      (*shared)(to_reply(to_status(err)));
  };
  // A remote actor is called through a relay, which fails the call as soon
  // as its node is lost (remote_relay.hpp).
  if (ctx_.relays != nullptr && !ctx_.relays->empty()
      && relay_set::is_remote(target, this->node()))
    request(ctx_.relays->next(), caf::infinite, relayed_request{target, std::move(env)})
      .then(std::move(answered), std::move(failed));
  else
    request(target, caf::infinite, std::move(env)).then(std::move(answered), std::move(failed));
}

void activation_host::call_service(activation& caller, std::string_view service,
                                   envelope env, detail::raw_callback done) {
  call_origin origin{caller.key(), caller.incarnation()};
  auto answer_later = [&](status st) {
    // Answer on a later turn of this actor, as a reply would arrive.
    send(this, deferred_work{[this, origin = std::move(origin), done = std::move(done),
                              st = std::move(st)]() mutable {
           resume(origin, [&] { done(std::move(st), {}); });
         }});
  };
  auto target = directory_.get().resolve(service, env.key);
  if (!target.error.is_ok()) {
    answer_later(std::move(target.error));
    return;
  }
  if (env.deadline_unix_ns <= unix_now_ns()) {
    answer_later(deadline_passed());
    return;
  }
  send_request(target.actor, std::move(env),
               [this, origin, done = std::move(done)](reply_envelope&& r) mutable {
                 resume(origin, [&] {
                   auto st = to_status(r);
                   done(std::move(st), detail::raw_response{std::move(r.payload),
                                                            std::move(r.object)});
                 });
               });
}

void activation_host::forward(envelope& env, reply_to&& reply) {
  auto target = directory_.get().resolve(entry().name, env.key);
  if (!target.error.is_ok()) {
    reply.deliver(to_reply(target.error));
    return;
  }
  if (target.actor == caf::actor_cast<caf::actor>(this)) {
    // The node's directory and its key ownership disagree for a moment
    // (published one after the other): the caller retries.
    reply.deliver(to_reply(status{status_code::unavailable,
                                  "the key is moving between nodes; retry"}));
    return;
  }
  if (env.deadline_unix_ns != 0 && env.deadline_unix_ns <= unix_now_ns()) {
    reply.deliver(to_reply(deadline_passed()));
    return;
  }
  reply.keep_past_handler();
  send_request(target.actor, std::move(env),
               [reply = std::move(reply)](reply_envelope&& r) mutable {
                 reply.deliver(std::move(r));
               });
}

void activation_host::arm_park_check(std::chrono::milliseconds delay) {
  delayed_send(this, delay, park_check_atom::value);
}

std::unique_ptr<google::protobuf::MessageLite>&
activation_host::request_slot(int method_index) {
  auto index = static_cast<size_t>(method_index);
  if (index >= requests_.size())
    requests_.resize(index + 1);
  return requests_[index];
}

void activation_host::release_request_slots() noexcept {
  requests_.clear();
}

void activation_host::load_state(activation& a) {
  // The store answers on a thread of its own (or at once): the answer comes
  // back as a message, so the activation handles it on this actor.
  ctx_.state->load(entry().name, a.key(),
                   [self = caf::actor_cast<caf::actor>(this), key = a.key(),
                    incarnation = a.incarnation()](status result, stored_state stored) {
                     caf::anon_send(self, state_loaded{key, incarnation, std::move(result),
                                                       std::move(stored)});
                   });
}

void activation_host::save_state(activation& a, std::uint64_t replaces, std::string bytes) {
  ctx_.state->save(entry().name, a.key(), replaces, std::move(bytes),
                   [self = caf::actor_cast<caf::actor>(this), key = a.key()](status result) {
                     caf::anon_send(self, state_saved{key, std::move(result)});
                   });
}

void activation_host::schedule_restart(activation& a, std::chrono::milliseconds delay) {
  delayed_send(this, delay, restart_atom::value, a.key(), a.incarnation());
}

supervision_decision activation_host::on_failure(const activation&) {
  auto d = ctx_.entry->tracker->on_failure(restart_tracker::clock::now());
  if (d.give_up)
    return {supervision_decision::action::give_up, {}, "too many restarts"};
  return {supervision_decision::action::restart, d.delay, {}};
}

void activation_host::arm_idle_check(std::chrono::milliseconds delay) {
  delayed_send(this, delay, idle_check_atom::value);
}

void activation_host::arm_deadline_timer() {
  if (auto delay = deadlines_.timer_to_arm(unix_now_ns()))
    delayed_send(this, *delay, expire_atom::value);
}

} // namespace troupe::runtime
