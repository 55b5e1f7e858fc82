// Atoms and node-local message types of the runtime's actors. Only envelope
// and reply_envelope cross nodes; the types here never leave the process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/state_store.hpp"
#include "troupe/status.hpp"

namespace troupe::runtime {

using restart_atom = caf::atom_constant<caf::atom("restart")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using idle_check_atom = caf::atom_constant<caf::atom("idlecheck")>;
using park_check_atom = caf::atom_constant<caf::atom("parkcheck")>;

/// Counts the keyed shards that applied a new key_ownership snapshot; the
/// last one runs `fenced` (node::publish_ownership).
struct fence_countdown {
  std::atomic<std::size_t> left;
  std::function<void()> fenced;

  fence_countdown(std::size_t shards, std::function<void()> done)
    : left(shards), fenced(std::move(done)) {
  }

  void done() {
    if (left.fetch_sub(1, std::memory_order_acq_rel) == 1 && fenced)
      fenced();
  }
};

/// Tells a keyed shard to apply the current key_ownership snapshot now.
struct ownership_fence {
  std::shared_ptr<fence_countdown> countdown;
};
using make_room_atom = caf::atom_constant<caf::atom("makeroom")>;

/// Tells a stateless instance that the node no longer wants it
/// (node::scale): it stops once it has no call in flight, or at
/// `give_up_at` with whatever is left — unless the node took it back into
/// service first. `ticket` decides between the two: the instance stops only
/// if it swaps `issued` for 0, the node takes it back only if it swaps
/// `issued` for a new even number, and only one of them can.
struct retire_instance {
  std::shared_ptr<std::atomic<std::uint64_t>> ticket;
  std::uint64_t issued = 0;  // odd
  std::chrono::steady_clock::time_point give_up_at;
};

/// A reply callback handed in by node::call from a thread outside the actor
/// system.
struct completion {
  std::function<void(reply_envelope)> fn;
};

/// An envelope sent by node::call: answered by calling `done` on the serving
/// actor's thread instead of through CAF's request/response, which would need
/// an actor in between to receive the response.
struct local_call {
  envelope env;
  completion done;
};

/// The state store read a key's state for the activation's `incarnation`.
struct state_loaded {
  std::string key;
  std::uint64_t incarnation = 0;
  status result;
  stored_state stored;
};

/// The state store finished writing a key's state.
struct state_saved {
  std::string key;
  status result;
};

/// The state store read a page of a key's journal for the activation's
/// `incarnation` (replay on activation).
struct events_loaded {
  std::string key;
  std::uint64_t incarnation = 0;
  status result;
  journal_page page;
};

/// Work an actor posts to itself so that a callback runs later, on the actor.
struct deferred_work {
  std::function<void()> fn;
};

} // namespace troupe::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::completion)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::local_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::deferred_work)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::state_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::state_saved)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::events_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::ownership_fence)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::retire_instance)
