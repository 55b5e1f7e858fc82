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
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
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

namespace troupe::runtime {

/// A call for a remote actor, from node::call (answered through `done`).
struct relayed_call {
  caf::actor target;
  envelope env;
  completion done;
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

class remote_relay : public caf::event_based_actor {
public:
  static constexpr std::size_t max_in_flight = 4096;

  explicit remote_relay(caf::actor_config& cfg);

  caf::behavior make_behavior() override;

  const char* name() const override {
    return "troupe.remote_relay";
  }

private:
  struct in_flight {
    caf::actor_addr target;
    reply_to reply;
  };

  void start(caf::actor& target, envelope& env, reply_to&& reply);
  void finish(std::uint64_t id, reply_envelope&& answer);
  void arm_deadline_timer();
  void on_down(const caf::down_msg& msg);
  void fail_calls_to(const caf::node_id& node, const status& why);

  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, in_flight> calls_;
  std::unordered_map<std::uint64_t, deadline_queue::id_type> deadline_ids_;
  deadline_queue deadlines_;
  std::unordered_set<caf::actor_addr> monitored_;
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
