// Handover of durable state between nodes. State lives in each node's own
// store (no replication yet), so a key of a service with durable state may
// only be served where its state is:
//   - keys are placed over the membership's holders, which keep a node that
//     died (its keys answer 503 until it returns: see cluster_directory);
//   - when the holders change (a node comes up, or leaves), each previous
//     holder lists its keys (state_store::list_keys), pushes the state of those
//     it no longer owns to their new holders (who write it before serving
//     them), erases its copies once they are acknowledged, and reports done;
//   - meanwhile, a new holder's load of a key that moved waits (bounded) for
//     the key to arrive or its previous holder to report done; a key whose
//     previous holder is down is refused at once, naming that node.
// A key is accepted once per handover, so a push repeated after a lost
// acknowledgement never overwrites what the new holder has written since.
//
// The store wrapper (store()) is called on any thread; the pushing runs on
// the cluster agent (on_membership, tick, receive), with the inner store's
// answers brought back to it by `post`.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "placement.hpp"
#include "troupe/cluster/cluster.pb.h"
#include "troupe/runtime/logger.hpp"
#include "troupe/runtime/state_store.hpp"
#include "troupe/status.hpp"

namespace troupe::cluster {

class handover {
public:
  /// What the pushing needs from the agent.
  struct agent_ops {
    /// Runs `fn` on the agent.
    std::function<void(std::function<void()>)> post;
    /// Sends `batch` to member `raft_id`; `done` on the agent.
    std::function<void(std::uint64_t, v1::HandoverBatch, std::function<void(status)>)> send;
    /// Tells the leader this node is done with `handover`; `done` on the agent.
    std::function<void(std::uint64_t, std::function<void(status)>)> report_done;
    /// The epoch this node's shards have applied.
    std::function<std::uint64_t()> fenced_epoch;
  };

  /// How long a load waits for its key to be handed over.
  static constexpr std::chrono::seconds max_wait{10};
  /// Keys per listed page and per pushed batch.
  static constexpr std::size_t page_keys = 256;
  /// Events read per page of a moving key's journal.
  static constexpr std::size_t page_events = 1024;

  handover(std::uint64_t self, std::uint64_t process_id, runtime::logger& log);
  ~handover();

  /// The store the node uses: `inner`, with the waits and refusals above.
  std::shared_ptr<runtime::state_store> wrap(std::shared_ptr<runtime::state_store> inner);

  void attach(agent_ops ops);

  // -- on the agent ---------------------------------------------------------------

  void on_membership(std::shared_ptr<const v1::Membership> m,
                     const std::deque<std::shared_ptr<const placement>>& history);
  void receive(v1::HandoverBatch batch, std::function<void(status)> done);
  void tick();

  /// The load of (service, key) through the wrapper (any thread).
  void load(std::string_view service, std::string_view key,
            runtime::state_store::load_callback done);

private:
  struct waiting_load {
    std::string service;
    std::string key;
    runtime::state_store::load_callback done;
    std::chrono::steady_clock::time_point deadline;
    std::uint64_t from = 0;  // the previous holder
  };

  struct push {
    std::uint64_t handover = 0;
    std::vector<std::string> services;
    std::size_t service = 0;
    std::string cursor;
    bool busy = false;
    bool reported = false;
    std::chrono::steady_clock::time_point next_try{};
    std::uint64_t pushed = 0;
  };

  void step();
  void on_page(std::string service, status st, std::vector<std::string> keys, bool more);
  /// Everything the store holds of `key` (its state, and its journal page
  /// by page); `done` on the agent's thread.
  void read_image(const std::string& service, const std::string& key,
                  std::function<void(status, runtime::key_image)> done);
  void read_events_from(const std::string& service, const std::string& key, std::uint64_t from,
                        std::shared_ptr<runtime::key_image> image,
                        std::function<void(status, runtime::key_image)> done);
  void retry_later(const std::string& why);
  /// Answers the loads that may go ahead now (under mtx_ held by caller: no).
  void release_ready();
  std::string member_name(std::uint64_t id) const;

  std::uint64_t self_;
  std::uint64_t process_id_;
  runtime::logger& log_;
  agent_ops ops_;
  std::shared_ptr<runtime::state_store> inner_;

  mutable std::mutex mtx_;  // what the wrapper reads on other threads
  std::shared_ptr<const v1::Membership> membership_;
  std::shared_ptr<const placement> placed_;
  std::set<std::pair<std::string, std::string>> received_;  // in the current handover
  std::uint64_t received_for_ = 0;
  std::deque<waiting_load> waiting_;

  push push_;  // the agent's
};

} // namespace troupe::cluster
