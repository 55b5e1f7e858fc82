// What the node's admin API shows of the cluster the node is in, and the
// changes it asks for (drain, remove). The runtime declares it; cluster/
// implements it and the program hands it to the node
// (node::set_cluster_membership). A node without one runs alone.
//
// Every method is called on gateway I/O threads: it must answer from a
// snapshot, without blocking or waiting for another node.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/status.hpp"

namespace troupe::runtime {

/// What one member hosts of one service.
struct member_service {
  std::string name;               // fully qualified service name
  std::uint32_t instances = 0;    // stateless: its instances on that member
  std::uint64_t keys = 0;         // keyed: its activations there (the member's own
                                  // count for itself, its last heartbeat's for another)
};

/// One member as this node sees it.
struct cluster_member {
  std::string name;
  std::string state;              // joining, up, leaving, down, removed
  std::uint64_t incarnation = 0;
  std::string cluster_address;    // host:port of its cluster links
  std::string http_address;
  std::int64_t started_at_unix_ms = 0;
  std::int64_t changed_at_unix_ms = 0;  // its last change of state
  std::int64_t heartbeat_age_ms = -1;   // since its last heartbeat here; -1: none (or self)
  bool self = false;
  bool leader = false;            // leads the consensus
  bool voter = false;
  bool linked = false;            // this node has a link to it
  std::vector<member_service> services;  // what it hosts, as the membership records it
};

/// The cluster as this node sees it now.
struct cluster_summary {
  std::string name;
  std::uint64_t epoch = 0;        // the membership's version
  bool serving_keys = false;      // this node holds its lease
  std::vector<cluster_member> members;
};

/// Which node owns a key of a keyed service now.
struct key_placement {
  status error;                   // not ok: no answer (unknown service, not joined)
  std::string node;
  std::string node_state;
  std::string http_address;
};

class cluster_membership {
public:
  virtual ~cluster_membership();

  virtual cluster_summary summary() const = 0;

  virtual key_placement locate(std::string_view service, std::string_view key) const = 0;

  /// Asks the cluster to hand member `node`'s keys over and have it leave;
  /// ok once the request went out (it completes asynchronously), else why not
  /// (not_found: no such member; failed_precondition: not up, or this node
  /// has not joined).
  virtual status drain(const std::string& node) = 0;

  /// Asks the cluster to remove member `node` for good: only one that is
  /// down. Its durable keys start again from no state on the others (the
  /// operator gives their state up), and its data directory is not
  /// admitted again. `done` is called once, on any thread: ok when the
  /// cluster agreed; not_found (no such member), failed_precondition (not
  /// down, or this node has not joined) or unavailable (no leader reached).
  virtual void remove(const std::string& node, std::function<void(status)> done) = 0;
};

} // namespace troupe::runtime
