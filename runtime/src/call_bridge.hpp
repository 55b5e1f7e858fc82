// Carries calls from threads outside the actor system (the gateway's I/O
// threads) into it: a request to the target actor with the call's deadline
// as timeout, whose answer (or error) is handed to the caller's callback. A
// node runs several bridges, because CAF scans an actor's pending requests
// linearly.
#pragma once

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

namespace troupe::runtime {

caf::behavior call_bridge(caf::event_based_actor* self);

} // namespace troupe::runtime
