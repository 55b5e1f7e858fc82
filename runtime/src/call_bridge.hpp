// Carries calls from threads outside the actor system (the gateway's I/O
// threads) into it: a request to the target actor whose answer (or error, or
// the passing of the call's deadline) is handed to the caller's callback. A
// node runs several bridges, because CAF scans an actor's pending requests
// linearly.
#pragma once

#include <caf/event_based_actor.hpp>

#include "deadline_queue.hpp"

namespace troupe::runtime {

class call_bridge : public caf::event_based_actor {
public:
  explicit call_bridge(caf::actor_config& cfg);

  caf::behavior make_behavior() override;

  const char* name() const override {
    return "troupe.call_bridge";
  }

private:
  void arm_timer();

  deadline_queue deadlines_;
};

} // namespace troupe::runtime
