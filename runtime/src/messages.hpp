// Atoms and node-local message types of the runtime's actors. Only envelope
// and reply_envelope cross nodes; the types here never leave the process.
#pragma once

#include <functional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "troupe/runtime/envelope.hpp"

namespace troupe::runtime {

using restart_atom = caf::atom_constant<caf::atom("restart")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using call_atom = caf::atom_constant<caf::atom("call")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using idle_check_atom = caf::atom_constant<caf::atom("idlecheck")>;

/// A reply callback handed from a non-actor thread to a bridge actor.
struct completion {
  std::function<void(reply_envelope)> fn;
};

/// Work an actor posts to itself so that a callback runs later, on the actor.
struct deferred_work {
  std::function<void()> fn;
};

} // namespace troupe::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::completion)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::deferred_work)
