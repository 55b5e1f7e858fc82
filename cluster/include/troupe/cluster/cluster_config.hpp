// How a node takes part in a cluster. Filled from flags and the config file by
// `troupe node` (program/); cluster/ only reads it. A node without
// `listen` set runs alone, as before.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::cluster {

/// "host:port" split; host is a name or an address ("[::1]" without brackets).
struct host_port {
  std::string host;
  std::uint16_t port = 0;

  std::string text() const;
  friend bool operator==(const host_port&, const host_port&) = default;
};

struct cluster_config {
  /// --cluster-listen: where the node's cluster links (CAF's BASP) listen.
  /// The consensus log (raft) listens on the next port (port + 1). Port 0:
  /// not in a cluster.
  host_port listen;
  /// --cluster-advertise: the address the other nodes reach this one at;
  /// default: `listen` (which then must not be a wildcard address).
  host_port advertise;
  /// --seeds: nodes to join through; may include this node. The first seed
  /// forms the cluster when no other seed answers.
  std::vector<host_port> seeds;
  /// --seeds-dns NAME:PORT: seeds are the A/AAAA records of NAME (port
  /// PORT), resolved again every `dns_interval`.
  host_port seeds_dns;
  std::chrono::milliseconds dns_interval{5'000};
  /// --cluster-name and the shared secret (--cluster-secret, or the first
  /// line of --cluster-secret-file): a node of another cluster, or with
  /// another secret, is refused.
  std::string name = "troupe";
  std::string secret;
  /// --tls-cert, --tls-key, --tls-ca: mutual TLS on every cluster link.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;

  /// Consensus: the first `voters` nodes vote (3 or 5); the others follow
  /// the log without voting.
  unsigned voters = 3;
  std::chrono::milliseconds election_timeout{1'000};
  std::chrono::milliseconds raft_heartbeat{100};

  /// Failure detection (phi accrual): a heartbeat every
  /// `heartbeat_interval`; a node is suspected when phi passes
  /// `phi_threshold`, with at least `min_std_deviation` assumed in the
  /// arrival times and `acceptable_pause` added to their mean.
  std::chrono::milliseconds heartbeat_interval{100};
  double phi_threshold = 8.0;
  std::chrono::milliseconds min_std_deviation{100};
  std::chrono::milliseconds acceptable_pause{500};

  /// A node serves keyed actors only within `lease` of its last heartbeat the
  /// leader answered; the leader places a node's keys elsewhere no sooner
  /// than `lease` (plus a margin for clock rates) after its last answer.
  std::chrono::milliseconds lease{1'000};

  /// Joining: retries of the seeds back off from `join_retry_initial`,
  /// doubling up to `join_retry_max`.
  std::chrono::milliseconds join_retry_initial{200};
  std::chrono::milliseconds join_retry_max{5'000};

  bool enabled() const noexcept {
    return listen.port != 0;
  }
};

/// Parses "host:port" ("[v6]:port" too); throws std::invalid_argument with
/// a line naming the fault.
host_port parse_host_port(const std::string& text);

} // namespace troupe::cluster
