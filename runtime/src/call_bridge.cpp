#include "call_bridge.hpp"

#include <chrono>
#include <memory>

#include "messages.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

caf::behavior call_bridge(caf::event_based_actor* self) {
  return {
    [self](call_atom, caf::actor& target, envelope& env, completion& done) {
      auto remaining = std::chrono::nanoseconds{env.deadline_unix_ns - unix_now_ns()};
      if (remaining <= std::chrono::nanoseconds::zero()) {
        done.fn(to_reply(status{status_code::deadline_exceeded, "the deadline passed"}));
        return;
      }
      auto fn = std::make_shared<std::function<void(reply_envelope)>>(std::move(done.fn));
      self->request(target, caf::duration{remaining}, std::move(env))
        .then([fn](reply_envelope& r) { (*fn)(std::move(r)); },
              [fn](caf::error& err) { (*fn)(to_reply(to_status(err))); });
    },
  };
}

} // namespace troupe::runtime
