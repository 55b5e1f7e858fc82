#include "activation_host.hpp"

#include <memory>
#include <utility>

#include <google/protobuf/descriptor.h>
#include <caf/send.hpp>

#include "activation.hpp"
#include "answers_after_write.hpp"
#include "node_load.hpp"
#include "remote_relay.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

activation_host::activation_host(caf::actor_config& cfg, host_context ctx)
  : caf::event_based_actor(cfg),
    ctx_(std::move(ctx)),
    directory_(*ctx_.directories),
    calls_(ctx_.calls ? ctx_.calls : ctx_.entry->stats->calls.new_slot()),
    load_(std::move(ctx_.own)) {
  // nop
}

caf::behavior activation_host::make_behavior() {
  return {
    [this](envelope& env) -> caf::delegated<reply_envelope> {
      // The activation answers through reply_to (now, or later through a
      // response promise): CAF has nothing left to send for this handler.
      reply_to reply{this};
      if (accept(env, reply) && admit(env, reply))
        route(env, std::move(reply));
      return {};
    },
    [this](local_call& call) -> caf::delegated<reply_envelope> {
      // Answered through its completion; a void result would still cost a
      // trip through CAF's result visitor.
      reply_to reply{std::move(call.done)};
      if (accept(call.env, reply) && admit(call.env, reply))
        route(call.env, std::move(reply));
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
    [this](events_loaded& loaded) {
      if (auto* a = find_activation(loaded.key))
        a->events_loaded(loaded.incarnation, std::move(loaded.result),
                         std::move(loaded.page));
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
    [this](retire_instance& retire) { on_retire(retire); },
    [this](make_room_atom, std::uint64_t wanted) -> std::uint64_t { return make_room(wanted); },
  };
}

void activation_host::on_exit() {
  directory_.release();
}

bool activation_host::accept(envelope& env, reply_to& reply) {
  if (env.admitted) {
    // Counted in flight by its sender; out of the mailbox now.
    load_->dequeued();
    reply.hold_place(*load_);
    return true;
  }
  // From another node: counted on arrival (its mailbox is the sender's
  // business, not counted here).
  if (load_->admit_arrived()) {
    reply.hold_place(*load_);
    return true;
  }
  count_shed(shed_reason::inflight);
  reply.deliver(ctx_.load->shed_reply(shed_reason::inflight, *ctx_.entry));
  return false;
}

void activation_host::count_shed(shed_reason why) noexcept {
  load_->count_shed();
  ctx_.load->record_shed(why, ctx_.entry);
}

void activation_host::report_slow(const std::string& method, std::int64_t took_ns) {
  auto& entry = *ctx_.entry;
  auto& stats = *entry.stats;
  stats.slow_calls.fetch_add(1, std::memory_order_relaxed);
  const auto* found = entry.descriptor != nullptr ? entry.descriptor->FindMethodByName(method)
                                                  : nullptr;
  if (found == nullptr || static_cast<std::size_t>(found->index()) >= stats.slow_methods.size())
    return;  // an unknown method, answered as such: not the service's handler
  if (stats.slow_methods[static_cast<std::size_t>(found->index())].exchange(
        true, std::memory_order_relaxed))
    return;
  // Once per method, so the message may name it: the logger's rate limit
  // goes by message, and would fold two methods' reports into one.
  auto threshold_ms = ctx_.load->slow_handler_threshold_ns() / 1'000'000;
  log().warn("slow handler: " + entry.name + "." + method + " held its thread "
               + std::to_string(took_ns / 1'000'000) + " ms (threshold "
               + std::to_string(threshold_ms) + " ms); a service whose handlers block "
               "must be declared blocking",
             {{"troupe.service", entry.name},
              {"troupe.handler", method},
              {"event.duration", took_ns},
              {"troupe.threshold_ms", threshold_ms}});
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
  if (target.load != nullptr) {
    // Refused here, at once, rather than queued where the callee cannot
    // keep up: the handler learns why from the status.
    if (auto refused = ctx_.load->admit(*target.load, env); !refused.is_ok()) {
      answer_later(std::move(refused));
      return;
    }
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

namespace {

/// A write's completion: the answers the write released go out from this
/// thread first, then the host learns the outcome. In that order, the
/// caller's I/O thread is woken before a scheduler thread is: woken the other
/// way round, both waited for the same core. A call of the key that arrives
/// before the outcome waits in the activation's stash, as during the write.
state_store::write_callback on_written(caf::actor host, std::string key,
                                       std::shared_ptr<answers_after_write> released) {
  return [host = std::move(host), key = std::move(key),
          released = std::move(released)](status result) {
    if (released)
      released->deliver(result.is_ok());
    caf::anon_send(host, state_saved{key, std::move(result)});
  };
}

} // namespace

void activation_host::save_state(activation& a, std::uint64_t replaces, std::string bytes,
                                 std::shared_ptr<answers_after_write> released) {
  ctx_.state->save(entry().name, a.key(), replaces, std::move(bytes),
                   on_written(caf::actor_cast<caf::actor>(this), a.key(), std::move(released)));
}

void activation_host::load_events(activation& a, std::uint64_t from_seq) {
  ctx_.state->read_events(
    entry().name, a.key(), from_seq, activation::replay_page,
    [self = caf::actor_cast<caf::actor>(this), key = a.key(),
     incarnation = a.incarnation()](status result, journal_page page) {
      caf::anon_send(self, events_loaded{key, incarnation, std::move(result), std::move(page)});
    });
}

void activation_host::append_events(activation& a, journal_append append,
                                    std::shared_ptr<answers_after_write> released) {
  ctx_.state->append(entry().name, a.key(), std::move(append),
                     on_written(caf::actor_cast<caf::actor>(this), a.key(), std::move(released)));
}

std::function<void(std::function<void()>)> activation_host::continuation_poster(activation& a) {
  a.call_started();
  return [self = caf::actor_cast<caf::actor>(this), host = this,
          origin = call_origin{a.key(), a.incarnation()}](std::function<void()> f) {
    // `host` is touched only by the message's handler, on the host itself.
    caf::anon_send(self, deferred_work{[host, origin, f = std::move(f)] {
                     host->resume(origin, f);
                   }});
  };
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
