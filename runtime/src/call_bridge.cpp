#include "call_bridge.hpp"

#include <chrono>
#include <memory>

#include "messages.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

call_bridge::call_bridge(caf::actor_config& cfg) : caf::event_based_actor(cfg) {
  // nop
}

void call_bridge::arm_timer() {
  if (auto delay = deadlines_.timer_to_arm(unix_now_ns()))
    delayed_send(this, *delay, expire_atom::value);
}

caf::behavior call_bridge::make_behavior() {
  return {
    [this](call_atom, caf::actor& target, envelope& env, completion& done) {
      if (env.deadline_unix_ns <= unix_now_ns()) {
        done.fn(to_reply(status{status_code::deadline_exceeded, "the deadline passed"}));
        return;
      }
      auto fn = std::make_shared<std::function<void(reply_envelope)>>(std::move(done.fn));
      auto id = deadlines_.add(env.deadline_unix_ns, [fn] {
        (*fn)(to_reply(status{status_code::deadline_exceeded, "the deadline passed"}));
      });
      arm_timer();
      request(target, caf::infinite, std::move(env))
        .then(
          [this, fn, id](reply_envelope& r) {
            if (deadlines_.complete(id))
              (*fn)(std::move(r));
          },
          [this, fn, id](caf::error& err) {
            if (deadlines_.complete(id))
              (*fn)(to_reply(to_status(err)));
          });
    },
    [this](expire_atom) {
      deadlines_.timer_fired();
      deadlines_.expire(unix_now_ns());
      arm_timer();
    },
  };
}

} // namespace troupe::runtime
