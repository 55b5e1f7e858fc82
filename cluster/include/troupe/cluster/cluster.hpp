// A node's part in a cluster: membership by consensus (raft), failure
// detection, leases, placement of keys and instances, links to the other
// nodes, handover of durable state. The program composes it with the node
// (docs/architecture.md, "cluster/"):
//
//   troupe::cluster::cluster c{node, config};
//   c.prepare();              // before node.start(): CAF's middleman (and
//                             // OpenSSL), the cluster's message types
//   runtime::node node{..., c.wrap_state_store(open_store)};
//   node.start();
//   gateway.start();
//   c.start(gateway.endpoint());  // links, consensus, joining
//   ... SIGTERM ...
//   c.leave(deadline);        // hands keys over, leaves the membership
//   c.stop();
//
// Once started it publishes the node's directory and key ownership
// (node::publish_directory, node::publish_ownership) at every change; the
// runtime never calls it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "troupe/cluster/cluster_config.hpp"
#include "troupe/runtime/cluster_membership.hpp"
#include "troupe/runtime/node.hpp"
#include "troupe/runtime/state_store.hpp"

namespace troupe::cluster {

/// One member as this node sees it, for the admin API.
struct member_view {
  std::string name;
  std::uint64_t raft_id = 0;
  std::string state;           // joining, up, leaving, down, removed
  std::uint64_t incarnation = 0;
  std::string cluster_address;
  std::string raft_address;
  std::string http_address;
  std::int64_t started_at_unix_ms = 0;
  std::int64_t changed_at_unix_ms = 0;
  std::int64_t heartbeat_age_ms = -1;  // since its last heartbeat here; -1: none (or self)
  bool self = false;
  bool leader = false;
  bool voter = false;
  bool linked = false;         // this node has a link to it
  struct service_load {
    std::string name;
    std::uint32_t instances = 0;       // stateless
    std::uint64_t active_actors = 0;   // keyed, as its last heartbeat said
  };
  std::vector<service_load> services;
};

/// The cluster as this node sees it now.
struct cluster_view {
  std::string cluster_name;
  std::string self;
  std::uint64_t epoch = 0;
  std::uint64_t settled = 0;
  std::string leader;          // empty: none known
  bool lease = false;          // this node may serve keyed actors
  std::vector<member_view> members;
};

/// Where a key lives.
struct key_location {
  std::string error;           // not empty: no answer (unknown service, ...)
  std::string node;
  std::string state;           // the node's state
  bool durable = false;
};

class cluster final : public runtime::cluster_membership {
public:
  /// `node` must outlive the cluster.
  cluster(runtime::node& node, cluster_config config);
  ~cluster() override;

  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// Before node.start(): checks the TLS files (CAF hangs on a bad one) and
  /// the data directory's identity, and adds the actor system setup. Throws
  /// std::runtime_error with one line naming the fault.
  void prepare();

  /// The state store the node should use: `inner` with handover of durable
  /// state between nodes (a key whose state another node is handing over
  /// waits for it; one whose state is on a node that is down is refused).
  runtime::state_store_factory wrap_state_store(runtime::state_store_factory inner);

  /// After node.start() (and the gateway's start, whose address the other
  /// members show): publishes the cluster link, starts the consensus and
  /// joins. Throws std::runtime_error with one line naming the fault.
  void start(std::string http_address);

  /// Hands this node's keys and instances over and leaves the membership;
  /// true once it has left, false at `deadline`. Blocks the calling thread.
  bool leave(std::chrono::steady_clock::time_point deadline);

  /// Stops the agent, the consensus and the links. Idempotent.
  void stop();

  // -- for the admin API and /readyz (any thread, never blocks) ---------------

  std::shared_ptr<const cluster_view> view() const;

  key_location where(std::string_view service, std::string_view key) const;

  /// Asks the cluster to drain node `name` (hand over, then leave); empty
  /// when the request went out, else why not.
  std::string request_drain(const std::string& name);

  // -- runtime::cluster_membership (the admin API) ----------------------------

  runtime::cluster_summary summary() const override;
  runtime::key_placement locate(std::string_view service, std::string_view key) const override;
  status drain_member(const std::string& name);
  status drain(const std::string& node) override {
    return drain_member(node);
  }
  void remove(const std::string& node, std::function<void(status)> done) override;

  /// Why the cluster stopped the node (it sent the process SIGTERM): a
  /// failure after start, such as the consensus log's port taken when the
  /// node joined; empty otherwise. The program exits non-zero with it.
  std::string failure() const;

  /// Why this node serves no keyed actor now (not joined, no lease: a
  /// minority partition, ...); empty while it serves them.
  std::string keyed_unready_reason() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::cluster
