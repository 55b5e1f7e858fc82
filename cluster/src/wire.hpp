// What cluster agents send each other over CAF's links (BASP). Most messages
// are protobuf messages of cluster.proto carried as bytes in a cluster_wire;
// the catalog carries actor handles, which only CAF can serialize (they
// arrive as proxies of the sender's actors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace troupe::cluster {

enum class wire_kind : std::uint32_t {
  join_request = 1,    // JoinRequest, a request answered by a JoinReply
  join_reply = 2,
  catalog_request = 3, // catalog_request's proof, answered by a cluster_catalog
  heartbeat = 4,       // Heartbeat, one way
  lease_grant = 5,     // LeaseGrant, one way (the leader's answer to a heartbeat)
  change_request = 6,  // ChangeRequest, answered by a ChangeReply
  change_reply = 7,
  handover_batch = 8,  // HandoverBatch, answered by a HandoverAck
  handover_ack = 9,
};

struct cluster_wire {
  std::uint32_t kind = 0;
  std::string bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_wire& x) {
  return f(caf::meta::type_name("troupe.cluster_wire"), x.kind, x.bytes);
}

/// A node's actors, for the nodes that call them: a keyed service's shards
/// (in the order its node picks them: hash(key) % shards) or a stateless
/// service's instances. Asked for with a proof of the cluster secret; the
/// answer proves it back.
struct cluster_catalog_request {
  std::string cluster;
  std::string name;           // the asking node
  std::uint64_t raft_id = 0;
  std::uint64_t process_id = 0;
  std::string nonce;
  std::string proof;          // HMAC(secret, "catalog", cluster, name, nonce)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_catalog_request& x) {
  return f(caf::meta::type_name("troupe.cluster_catalog_request"), x.cluster, x.name, x.raft_id,
           x.process_id, x.nonce, x.proof);
}

struct cluster_catalog {
  std::string name;
  std::uint64_t raft_id = 0;
  std::uint64_t process_id = 0;
  std::string proof;          // HMAC(secret, "catalog-reply", cluster, name, nonce)
  std::string refusal;        // not empty: refused, and why
  std::vector<std::string> services;
  std::vector<std::vector<caf::actor>> actors;  // per service
  std::uint64_t instances_version = 0;          // as in its heartbeats
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_catalog& x) {
  return f(caf::meta::type_name("troupe.cluster_catalog"), x.name, x.raft_id, x.process_id,
           x.proof, x.refusal, x.services, x.actors, x.instances_version);
}

} // namespace troupe::cluster
