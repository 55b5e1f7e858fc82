// Atoms and node-local message types of the runtime's actors. Only envelope
// and reply_envelope cross nodes; the types here never leave the process.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
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

/// The answer to a request, when the handler gives it before the host's
/// message handler returns: the host then returns it to CAF as the handler's
/// result, which spares a response promise (most handlers answer at once).
struct inline_answer {
  std::optional<reply_envelope> value;
  bool kept_for_later = false;  // a response promise answers instead
};

/// Where an envelope's answer goes: back to the requesting actor, or to the
/// completion of a local_call.
class reply_to {
public:
  /// The request `self` is handling now, answered into `slot` unless
  /// keep_for_later() is called first.
  reply_to(caf::event_based_actor* self, inline_answer* slot) : self_(self), slot_(slot) {
  }

  explicit reply_to(completion done) : done_(std::move(done.fn)) {
  }

  reply_to(reply_to&& other) noexcept
    : self_(other.self_),
      slot_(std::exchange(other.slot_, nullptr)),
      rp_(std::move(other.rp_)),
      done_(std::move(other.done_)) {
    other.done_ = nullptr;
  }

  reply_to& operator=(reply_to&& other) noexcept {
    self_ = other.self_;
    slot_ = std::exchange(other.slot_, nullptr);
    rp_ = std::move(other.rp_);
    done_ = std::move(other.done_);
    other.done_ = nullptr;
    return *this;
  }

  void deliver(reply_envelope r) {
    if (slot_ != nullptr) {
      slot_->value = std::move(r);
      slot_ = nullptr;
    } else if (done_) {
      auto fn = std::move(done_);
      done_ = nullptr;
      fn(std::move(r));
    } else {
      rp_.deliver(std::move(r));
    }
  }

  /// The answer comes after the current message handler returns: take CAF's
  /// response promise while the request is still the current message.
  void keep_for_later() {
    if (slot_ != nullptr) {
      rp_ = self_->make_response_promise();
      slot_->kept_for_later = true;
      slot_ = nullptr;
    }
  }

private:
  caf::event_based_actor* self_ = nullptr;
  inline_answer* slot_ = nullptr;
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
