// Calls to actors on other nodes. A directory may resolve a call to a proxy
// of a remote actor (cluster/); the node then hands the call to one of its
// relays instead of sending it to the proxy directly, because CAF 0.17.6
// drops messages to a proxy whose node is gone without a word: a call sent
// that way would hang until its caller's own deadline.
//
// A relay sends the envelope as a CAF request, keeps the call's deadline
// (deadline_queue: one timer for the earliest), and monitors every remote
// actor it calls: when the connection to a node is lost, CAF kills that
// node's proxies, the relay gets their down_msg (remote_link_unreachable),
// and every call it has in flight to that node is answered `unavailable` at
// once. A node the cluster declared down while its connection stands (a
// frozen process) sends no down_msg: node::fail_calls_to() sends the relays a
// node_declared_down, and its calls in flight are answered the same way. A
// relay holds at most max_in_flight calls (CAF's request bookkeeping
// scans linearly); past it a call is refused with `unavailable`.
//
// An idempotent call (envelope::idempotent, set by the gateway) whose node is
// lost is not answered then: the relay keeps it and, every retry_interval,
// resolves its service and key again through the node's directory; once
// they resolve to an actor that is not on the lost node (the key's next
// owner, another instance), it sends the call there; should that node
// answer unavailable (its view of the membership behind this node's), it
// keeps the call again. It answers the call
// deadline_passed at its deadline, and unavailable after max_resends
// sends or when the directory refuses the call for another reason than a
// missing node. Kept calls count towards max_in_flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/node_id.hpp>

#include "deadline_queue.hpp"
#include "messages.hpp"
#include "reply_to.hpp"
#include "troupe/runtime/directory.hpp"
#include "troupe/runtime/published.hpp"

namespace troupe::runtime {

/// A call for a remote actor, from node::call (answered through `done`).
/// `service` names what `target` serves: an idempotent call is resolved
/// again by it when its node is lost.
struct relayed_call {
  caf::actor target;
  envelope env;
  completion done;
  std::string service;
};

/// A call for a remote actor, from another actor of this node: sent as a CAF
/// request and answered with a reply_envelope.
struct relayed_request {
  caf::actor target;
  envelope env;
};

/// The calls in flight to actors of `node` are answered `unavailable` now
/// (node::fail_calls_to).
struct node_declared_down {
  caf::node_id node;
  std::string why;
};

using retry_atom = caf::atom_constant<caf::atom("retry")>;

class remote_relay : public caf::event_based_actor {
public:
  static constexpr std::size_t max_in_flight = 4096;
  static constexpr std::chrono::milliseconds retry_interval{50};
  static constexpr int max_resends = 5;

  /// `directories`: where an idempotent call whose node was lost is
  /// resolved again; outlives the relay.
  remote_relay(caf::actor_config& cfg, const published<directory>* directories);

  caf::behavior make_behavior() override;

  const char* name() const override {
    return "troupe.remote_relay";
  }

private:
  /// What an idempotent call needs to be sent again.
  struct resend {
    std::string service;
    envelope env;
    int sends = 1;
    caf::node_id lost;  // once its node was lost: not sent there again
  };

  struct in_flight {
    caf::actor_addr target;
    reply_to reply;
    std::optional<resend> again;  // idempotent calls of node::call only
  };

  struct kept_call {
    resend again;
    reply_to reply;
  };

  void start(caf::actor& target, envelope& env, reply_to&& reply,
             std::optional<resend> again = std::nullopt);
  void finish(std::uint64_t id, reply_envelope&& answer);
  /// Answers call `id` with `why`, or keeps it to send again (an idempotent
  /// call whose node `lost` is gone).
  void lose(std::uint64_t id, const caf::node_id& lost, const status& why);
  void retry_kept();
  void arm_deadline_timer();
  void on_down(const caf::down_msg& msg);
  void fail_calls_to(const caf::node_id& node, const status& why);

  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, in_flight> calls_;
  std::unordered_map<std::uint64_t, deadline_queue::id_type> deadline_ids_;
  deadline_queue deadlines_;
  std::unordered_set<caf::actor_addr> monitored_;
  const published<directory>* directories_;
  std::vector<kept_call> kept_;
  bool retry_armed_ = false;
};

/// The node's relays; a call picks one round robin.
class relay_set {
public:
  void add(caf::actor relay) {
    relays_.push_back(std::move(relay));
  }

  /// True when `target` lives in another process than `local`.
  static bool is_remote(const caf::actor& target, const caf::node_id& local) noexcept {
    return target.node() != local;
  }

  const caf::actor& next() const noexcept {
    return relays_[next_.fetch_add(1, std::memory_order_relaxed) % relays_.size()];
  }

  bool empty() const noexcept {
    return relays_.empty();
  }

  const std::vector<caf::actor>& all() const noexcept {
    return relays_;
  }

  void clear() {
    relays_.clear();
  }

private:
  std::vector<caf::actor> relays_;
  mutable std::atomic<std::uint64_t> next_{0};
};

} // namespace troupe::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::relayed_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::relayed_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::runtime::node_declared_down)
