// The consensus log: canonical raft (libraft 0.15) on a thread and libuv loop
// of its own, its log and snapshots under DATA/raft, its links through
// auth_transport (mutual TLS when the node has TLS files). The replicated state machine is the membership
// (membership.hpp); every applied command hands the new membership to
// `applied`, and every change of leader or term to `leadership`. Both run on
// the raft thread and must only hand over (send to an actor).
//
// Other threads talk to it by posting work (propose(), change_role(), ...):
// a mutex-guarded queue and a uv_async wake-up; the answer comes back through
// the given callback, on the raft thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "troupe/cluster/cluster.pb.h"
#include "troupe/status.hpp"

namespace troupe::cluster {

namespace v1 = troupe::cluster::v1;

/// Who leads, as this node's raft sees it.
struct leadership {
  std::uint64_t leader = 0;  // raft id; 0: none known
  std::uint64_t term = 0;
  bool self = false;         // this node leads
  // The raft configuration: (raft id, role) of every server in it.
  std::vector<std::pair<std::uint64_t, int>> servers;
};

class raft_host {
public:
  struct settings {
    std::string dir;            // DATA/raft
    std::uint64_t id = 0;       // this node's raft id
    std::string address;        // host:port raft is reached at
    std::string bind_address;   // host:port it listens on; empty: `address`
    std::string cluster_name;
    std::string secret;
    // PEM files; all empty: the links are not TLS (only authenticated).
    std::string tls_cert;
    std::string tls_key;
    std::string tls_ca;
    unsigned election_timeout_ms = 1000;
    unsigned heartbeat_ms = 100;
    bool bootstrap = false;     // form a new cluster with this node as its only voter
  };

  struct callbacks {
    std::function<void(std::shared_ptr<const v1::Membership>, std::string note)> applied;
    std::function<void(leadership)> leadership_changed;
    std::function<void(const std::string&)> warn;  // refused links, raft errors
  };

  raft_host(settings s, callbacks cb);
  ~raft_host();

  raft_host(const raft_host&) = delete;
  raft_host& operator=(const raft_host&) = delete;

  /// Starts the thread and raft; throws std::runtime_error (one line) when
  /// raft cannot start (its directory, its port).
  void start();

  /// Closes raft and ends the thread; idempotent. `transfer_first`: a leader
  /// hands leadership to another voter first, so that the others need not
  /// wait for an election.
  void stop(bool transfer_first = false);

  using done_fn = std::function<void(status)>;

  /// Appends `command` to the log if this node leads; `done` once it is
  /// applied (or failed: not the leader, leadership lost).
  void propose(v1::Command command, done_fn done);

  /// Leader `lost` died (`gone`: its process is known to be gone) or fell
  /// silent, as this node's agent sees it. While this node still follows
  /// it, it stands for election after a tenth of the election timeout (at
  /// least 30 ms) instead of a whole one, until another leader is known or
  /// two election timeouts passed. A leader that is gone it also forgets at
  /// once, so that it can vote for another: a non-voter in its own view,
  /// whose promotion the dead leader never sent it, would otherwise refuse
  /// every vote for good. Raft's safety does not depend on its timers, and
  /// with pre-vote a node that hastens alone cannot unseat a leader the
  /// other voters still hear: this only shortens the time without a leader.
  void hasten_election(std::uint64_t lost, bool gone);

  /// Adds server `id` at `address` to the configuration (as a spare), then
  /// gives it `role` (RAFT_STANDBY or RAFT_VOTER). Leader only.
  void add_server(std::uint64_t id, std::string address, int role, done_fn done);

  /// Gives server `id` another role. Leader only.
  void assign_role(std::uint64_t id, int role, done_fn done);

  /// Removes server `id` from the configuration. Leader only.
  void remove_server(std::uint64_t id, done_fn done);

  /// True when DATA/raft holds a log already (this node was in a cluster).
  static bool has_log(const std::string& dir);

  struct impl;

private:
  void post(std::function<void()> job);

  std::unique_ptr<impl> impl_;
};

} // namespace troupe::cluster
