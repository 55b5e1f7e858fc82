// Atoms and node-local message types of the runtime's actors. Only envelope
// and reply_envelope cross nodes; the types here never leave the process.
#pragma once

#include <functional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/local_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/response_promise.hpp>

#include "troupe/runtime/envelope.hpp"

namespace troupe::runtime {

using restart_atom = caf::atom_constant<caf::atom("restart")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using idle_check_atom = caf::atom_constant<caf::atom("idlecheck")>;

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

/// Where an envelope's answer goes: the response to the CAF request the host
/// is handling, or the completion of a local_call.
///
/// A request's answer starts out as the handler's result: deliver() leaves it
/// in a message the host's message handler returns, and CAF sends it as the
/// response the way it answers any handler's result. Taking a response promise
/// up front instead costs a second one: CAF's result visitor makes one for
/// every handler, even one that returns nothing (~10% of a local call's
/// serving side, measured in bench/dispatch). An answer that may come after
/// the handler returns needs keep_past_handler() first.
class reply_to {
public:
  /// The answer to the request being handled now goes into `*result`, which
  /// the host's message handler returns.
  explicit reply_to(caf::message* result) : result_(result) {
  }
  explicit reply_to(completion done) : done_(std::move(done.fn)) {
  }

  reply_to(reply_to&&) noexcept = default;
  reply_to& operator=(reply_to&&) noexcept = default;

  void deliver(reply_envelope&& r) {
    if (result_ != nullptr) {
      *result_ = caf::make_message(std::move(r));
      result_ = nullptr;
    } else if (done_) {
      auto fn = std::move(done_);
      done_ = nullptr;
      fn(std::move(r));
    } else {
      rp_.deliver(std::move(r));
    }
  }

  /// Makes the reply deliverable after the host's current message handler
  /// returned (a promise, a stashed call). Call it on the host's thread
  /// while the request is still the message being handled.
  void keep_past_handler(caf::local_actor& host) {
    if (result_ != nullptr) {
      rp_ = host.make_response_promise();
      result_ = nullptr;
    }
  }

private:
  caf::message* result_ = nullptr;
  caf::response_promise rp_;
  std::function<void(reply_envelope)> done_;
};

/// Work an actor posts to itself so that a callback runs later, on the actor.
struct deferred_work {
  std::function<void()> fn;
};

} // namespace troupe::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::completion)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::local_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::deferred_work)
