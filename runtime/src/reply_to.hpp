// Where the answer to one envelope goes. See reply_to.
#pragma once

#include <functional>
#include <utility>

#include <caf/local_actor.hpp>
#include <caf/response_promise.hpp>

#include "messages.hpp"
#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/host_load.hpp"

namespace troupe::runtime {

/// Where an envelope's answer goes: the response to the CAF request the host
/// is handling, or the completion of a local_call.
///
/// While the host handles the request, deliver() sends the response itself:
/// one mailbox element holding the reply_envelope, enqueued at the requester.
/// CAF's own way (a response promise, or a handler result that its result
/// visitor answers through one) wraps the reply in a message and then in a
/// mailbox element: two allocations and a detour through the visitor, about a
/// third of what a local call costs the serving actor (bench/dispatch,
/// docs/benchmarks.md). An answer that may come after the handler returned
/// needs keep_past_handler() first, which takes a response promise.
///
/// It also holds the call's place in its host's count of calls in flight
/// (`load`, see host_load.hpp): given back when the answer is delivered, or
/// when the reply_to goes unanswered, so that no path leaks a place.
class reply_to {
public:
  /// The answer to the request `host` is handling now.
  explicit reply_to(caf::local_actor* host, host_load* load = nullptr)
    : host_(host), load_(load) {
  }
  explicit reply_to(completion done, host_load* load = nullptr)
    : done_(std::move(done.fn)), load_(load) {
  }

  ~reply_to() {
    release();
  }

  // A moved-from reply_to delivers nowhere (not to the host's current
  // request, which is no longer the one it was made for).
  reply_to(reply_to&& other) noexcept
    : host_(std::exchange(other.host_, nullptr)),
      rp_(std::move(other.rp_)),
      done_(std::exchange(other.done_, nullptr)),
      load_(std::exchange(other.load_, nullptr)) {
  }
  reply_to& operator=(reply_to&& other) {
    release();
    host_ = std::exchange(other.host_, nullptr);
    rp_ = std::move(other.rp_);
    done_ = std::exchange(other.done_, nullptr);
    load_ = std::exchange(other.load_, nullptr);
    return *this;
  }

  /// Holds the call's place in `load`'s count until the answer.
  void hold_place(host_load& load) noexcept {
    release();
    load_ = &load;
  }

  void deliver(reply_envelope&& r) {
    // The place first: a caller that sends its next call as soon as it has
    // the answer finds it free.
    release();
    if (host_ != nullptr) {
      respond_now(*host_, std::move(r));
      host_ = nullptr;
    } else if (done_) {
      auto fn = std::move(done_);
      done_ = nullptr;
      fn(std::move(r));
    } else {
      rp_.deliver(std::move(r));
    }
  }

  /// Whether deliver() may run on any thread, not only the host's: a local
  /// call's completion (node::call's callers accept any thread). A CAF
  /// request is answered by its host.
  bool deliverable_anywhere() const noexcept {
    return host_ == nullptr && done_ != nullptr;
  }

  /// Makes the reply deliverable after the host's current message handler
  /// returned (a promise, a stashed call). Call it on the host's thread
  /// while the request is still the message being handled.
  void keep_past_handler() {
    if (host_ != nullptr) {
      rp_ = host_->make_response_promise();
      host_ = nullptr;
    }
  }

private:
  /// Answers the request `host` is handling, as a response promise would.
  static void respond_now(caf::local_actor& host, reply_envelope&& r);

  void release() noexcept {
    if (load_ != nullptr)
      std::exchange(load_, nullptr)->release();
  }

  caf::local_actor* host_ = nullptr;
  caf::response_promise rp_;
  std::function<void(reply_envelope)> done_;
  host_load* load_ = nullptr;  // the host whose count holds the call's place
};

} // namespace troupe::runtime
