// The cluster agent: one actor per node (detached: it may block briefly, as
// when it starts the consensus thread) that keeps this node's part of the
// cluster going. It
//   - joins: asks the seeds (and known members) to admit the node, forms the
//     cluster when it is the first seed and nobody answers, rejoins as a new
//     incarnation after it was declared down;
//   - keeps links: connects to every member (connector.hpp), exchanges
//     catalogs of actors with proofs of the cluster secret, monitors each
//     member's agent (a lost link is a down_msg at once);
//   - heartbeats every member and, on the leader, runs the phi accrual
//     detectors, grants leases in answer to heartbeats, computes the settled
//     epoch, declares members down (once their lease has surely run out, or
//     at once when their process is confirmed gone), brings joining members
//     up, promotes voters;
//   - on every membership change, runs this node's share of the services
//     with a cluster-wide instance count, publishes the node's directory and
//     key ownership and, when fenced, reports the epoch in its heartbeats;
//   - runs the handovers of durable state (handover.hpp).
// Everything it shows the admin API goes into a snapshot (cluster_view) that
// other threads read without asking it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "connector.hpp"
#include "ownership.hpp"
#include "phi_detector.hpp"
#include "placement.hpp"
#include "raft_host.hpp"
#include "troupe/cluster/cluster.hpp"
#include "troupe/cluster/cluster.pb.h"
#include "wire.hpp"

namespace troupe::cluster {

class handover;

/// What the agent works with; owned by the cluster, outlives the agent.
struct agent_context {
  runtime::node* node = nullptr;
  const cluster_config* config = nullptr;
  std::string name;
  std::uint64_t raft_id = 0;
  std::uint64_t process_id = 0;
  std::int64_t started_at_unix_ms = 0;
  std::string cluster_address;  // advertised host:port
  std::string raft_address;
  std::string http_address;
  bool tls = false;             // links are mutual TLS
  std::vector<v1::HostedService> services;
  bool has_log = false;         // DATA/raft held a log at start
  // Set before the log's first leadership message reaches the agent.
  raft_host* raft = nullptr;
  // Opens the consensus log on a thread of its own and returns at once:
  // opening syncs files, and the agent heartbeats meanwhile.
  std::function<void(bool bootstrap)> start_raft;
  connector* links = nullptr;
  std::shared_ptr<lease_state> lease;
  handover* handovers = nullptr;
  // The admin API's snapshot and the reason /readyz gives.
  std::mutex* view_mtx = nullptr;
  std::shared_ptr<const cluster_view>* view = nullptr;
  std::shared_ptr<const v1::Membership>* membership = nullptr;  // under view_mtx
  std::function<void()> left;   // this node has left the membership
};

/// Runs `fn` on the agent (from the raft thread, the connector, the store).
struct agent_task {
  std::function<void()> fn;
};

struct membership_update {
  std::shared_ptr<const v1::Membership> membership;
  std::string note;
};

struct leadership_update {
  leadership lead;
};

/// An operator's removal of a down member (cluster::remove); `done` is
/// called once the cluster agreed to it, or with why not.
struct remove_request {
  std::string name;
  std::function<void(status)> done;
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using fenced_atom = caf::atom_constant<caf::atom("fenced")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;

class agent : public caf::event_based_actor {
public:
  agent(caf::actor_config& cfg, agent_context* ctx);

  caf::behavior make_behavior() override;

  const char* name() const override {
    return "troupe.cluster_agent";
  }

  void on_exit() override;

private:
  using clock = std::chrono::steady_clock;

  struct peer {
    std::uint64_t raft_id = 0;
    std::string name;
    std::string address;
    std::uint64_t process_id = 0;
    std::uint64_t incarnation = 0;
    caf::actor agent;            // its published agent, once connected
    caf::node_id caf_node;
    bool connecting = false;
    bool linked = false;         // catalog received
    clock::time_point next_attempt{};
    std::chrono::milliseconds backoff{0};
    std::map<std::string, std::vector<caf::actor>, std::less<>> actors;
    std::uint64_t instances_version = 0;  // of the catalog `actors` came from
    bool refreshing = false;              // a newer catalog is asked for
    phi_detector detector;
    clock::time_point known_since;
    std::optional<clock::time_point> last_heartbeat;
    bool link_lost = false;      // its link went down since we last had one
    bool confirmed_dead = false; // its process is gone (its port refuses)
    std::vector<std::uint64_t> connected;  // as its last heartbeat said
    std::map<std::string, std::uint64_t, std::less<>> loads;
    std::uint64_t acked_epoch = 0;
    std::uint64_t heard_process = 0;  // process id its heartbeats carry
    bool calls_failed = false;   // its calls in flight were failed as it fell silent
    // When this node leads: when it sent the newest of its heartbeats this
    // peer answered while following it as the leader.
    std::optional<clock::time_point> follows_me_since;
    // When this node leads: whether it has heard from this peer, following
    // it, when the peer last answered or led another leadership (on this
    // node's clock, never earlier than the truth; none: never).
    bool reported_earlier = false;
    std::optional<clock::time_point> earlier_leader_at;

    explicit peer(phi_detector::settings s) : detector(s) {
    }
  };

  /// Fails the calls in flight to each peer whose heartbeats stopped, once
  /// per silence (phi past the threshold).
  void fail_calls_to_silent_peers();

  // -- joining ------------------------------------------------------------------
  void maybe_join();
  void join_round_done();
  void on_join_answer(int round, const std::string& target, std::optional<v1::JoinReply> reply,
                      const std::string& error);
  bool first_seed() const;
  std::vector<host_port> join_targets() const;
  void resolve_dns();

  // -- serving join requests ------------------------------------------------------
  void handle_join_request(const v1::JoinRequest& request, caf::response_promise rp);
  void admit(const v1::Member& candidate, caf::response_promise rp, std::string nonce);
  v1::JoinReply join_reply(v1::JoinReply::Code code, std::string reason,
                           const std::string& nonce) const;

  // -- links --------------------------------------------------------------------
  void connect_peers();
  /// Whether this node opens the link to `p` (or waits for `p` to open it).
  bool opens_link_to(const peer& p) const;
  void connect(peer& p);
  void on_connected(std::uint64_t raft_id, std::uint64_t process_id, connect_result result);
  void on_catalog(std::uint64_t raft_id, cluster_catalog& catalog, const std::string& nonce);
  cluster_catalog make_catalog(const cluster_catalog_request& request);
  cluster_catalog_request catalog_request() const;
  /// Asks linked `p` for its catalog again: its heartbeat says its
  /// stateless instances changed.
  void refresh_catalog(peer& p);
  void take_catalog(peer& p, cluster_catalog& catalog);
  /// Runs this node's share of each service with a cluster-wide instance
  /// count under the current membership (instance_shares).
  void scale_instances();
  void lose_link(peer& p, bool lost);
  void probe(peer& p);
  // `p`'s process is known to be gone (not merely silent).
  void process_gone(peer& p);
  // If `p` is the leader this node follows: stand for election sooner.
  void hasten_election(const peer& p, const char* why);

  // -- heartbeats, leases, detection ---------------------------------------------
  void tick();
  void send_heartbeats();
  void on_heartbeat(const v1::Heartbeat& hb, std::uint64_t from);
  void on_grant(const v1::LeaseGrant& grant, std::uint64_t from);
  void lead();
  /// When this node leads: the newest time T such that a majority of the
  /// voters (this node counting at `now`) answered a heartbeat it sent at
  /// or after T while following it (leader_lease.hpp). Its own lease, and
  /// the leases it grants, run from there.
  std::optional<clock::time_point> quorum_acked_at(clock::time_point now) const;
  /// When this node leads: a time no lease held or granted under an earlier
  /// leadership began after, as far as the voters other than `down` tell;
  /// none until every one of them has told this leader. A lease runs from
  /// a heartbeat that a majority of voters answered while following its
  /// leader (the leader counting itself), and a majority holds at least two
  /// voters: one that is not `down` answered that heartbeat (or sent it),
  /// and said when it last did so once it followed this leader.
  std::optional<clock::time_point> earlier_leases_began(std::uint64_t down) const;
  /// This node answers (or stops answering) the heartbeats of `leader`.
  void note_answered(std::uint64_t leader, clock::time_point now);
  bool suspected(const peer& p, clock::time_point now) const;
  std::uint64_t compute_settled() const;

  // -- membership ---------------------------------------------------------------
  void on_membership(std::shared_ptr<const v1::Membership> m, const std::string& note);
  void on_leadership(leadership l);
  void publish();
  void publish_ownership();
  void publish_view();
  const v1::Member* self_record() const;
  bool serving() const;

  // -- changes --------------------------------------------------------------------
  void propose(v1::Command command, std::function<void(status)> done);
  void request_change(v1::ChangeRequest request, std::function<void(status)> done);
  void handle_change(const v1::ChangeRequest& request, caf::response_promise rp);
  void start_leave();

  /// The authenticated peer (raft id) a message came from; 0: none.
  std::uint64_t sender_id();

  runtime::logger& log() const {
    return ctx_->node->log();
  }

  agent_context* ctx_;
  const cluster_config& config_;
  phi_detector::settings detector_settings_;

  std::shared_ptr<const v1::Membership> membership_;
  std::deque<std::shared_ptr<const placement>> history_;
  leadership lead_;
  clock::time_point leading_since_{};
  std::map<std::uint64_t, peer> peers_;
  std::map<caf::node_id, std::uint64_t> trusted_;  // CAF node -> raft id

  // joining
  bool raft_started_ = false;
  bool joined_ = false;         // a seed admitted this process, or it formed the cluster
  bool join_in_flight_ = false;
  int join_pending_ = 0;
  int join_no_cluster_ = 0;     // answers: unreachable or not in a cluster
  int join_targets_ = 0;
  bool join_accepted_ = false;
  std::string join_refusal_;
  std::chrono::milliseconds join_backoff_{0};
  clock::time_point next_join_{};
  std::vector<host_port> dns_seeds_;
  clock::time_point next_dns_{};
  bool dns_in_flight_ = false;
  bool bootstrapped_ = false;
  int join_rounds_ = 0;

  // heartbeats and the lease
  std::uint64_t seq_ = 0;
  static constexpr std::size_t sent_ring = 256;
  std::vector<clock::time_point> sent_at_ = std::vector<clock::time_point>(sent_ring);
  std::uint64_t fenced_epoch_ = 0;   // this node's shards apply this epoch
  std::uint64_t settled_ = 0;        // every serving member has taken up this epoch
  clock::time_point lease_renewed_{};
  // The leader this node follows, and the seq of its last heartbeat here.
  std::uint64_t followed_leader_ = 0;
  std::uint64_t followed_seq_ = 0;
  clock::time_point followed_at_{};  // when that heartbeat came
  // The leader this node stood for election against (hasten_election): its
  // heartbeats are not answered until the leadership changes or it is
  // heard again.
  std::uint64_t lost_leader_ = 0;
  // The leader whose heartbeats this node last answered, and when the
  // newest one it answered came; and the latest such time for another
  // leader, or when it last led itself (none: never).
  std::uint64_t answered_leader_ = 0;
  clock::time_point answered_at_{};
  std::optional<clock::time_point> earlier_leader_at_;
  // When this node's view of the consensus' voters last changed: a lease
  // that began before may have had a majority of the voters before.
  clock::time_point voters_changed_at_ = clock::now();

  // the leader's books
  std::map<std::uint64_t, clock::time_point> last_grant_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> down_proposed_;  // (raft id, incarnation)
  std::set<std::pair<std::uint64_t, std::uint64_t>> up_proposed_;
  // (raft id, process id) of the nodes whose join is proposed and not yet
  // decided: one join each, however many seeds they asked.
  std::set<std::pair<std::uint64_t, std::uint64_t>> admitting_;
  bool config_change_in_flight_ = false;
  std::uint64_t leader_settled_ = 0;

  // leaving
  bool leave_requested_ = false;
  bool left_ = false;
  std::uint64_t self_incarnation_ = 0;
  v1::MemberState self_state_ = v1::MEMBER_STATE_UNSPECIFIED;
  bool rejoin_logged_ = false;

  // Bumped when scale_instances() changed this node's instances; in its
  // heartbeats and catalogs.
  std::uint64_t instances_version_ = 0;
};

} // namespace troupe::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::agent_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::membership_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::leadership_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::remove_request)
