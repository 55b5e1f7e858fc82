// A Troupe node: the actor system, the loaded modules and the services they
// registered, supervised. Knows nothing of HTTP: the gateway calls into it
// through a caller (or call()).
//
// What the node does not implement itself it is handed by the program, which
// composes it at start: the state store its activations keep state in (in
// memory unless one is given), and — through publish_directory() — where
// calls go when this node is one of a cluster.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "troupe/runtime/cluster_membership.hpp"
#include "troupe/runtime/directory.hpp"
#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/key_ownership.hpp"
#include "troupe/runtime/logger.hpp"
#include "troupe/runtime/node_config.hpp"
#include "troupe/runtime/published.hpp"
#include "troupe/runtime/service_table.hpp"
#include "troupe/runtime/state_store.hpp"

namespace troupe::runtime {

struct module_info {
  std::string name;
  std::string version;
  std::string path;
  std::vector<std::string> services;
};

/// Why a node could not start; what() is one line naming the fault.
class startup_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using call_callback = std::function<void(reply_envelope)>;

/// Opens the store a node's activations keep their state in. Called by
/// node::start() once the node holds its data directory, with the node's
/// logger for the store's own reports; throws (one line in what()) when the
/// store cannot be opened.
using state_store_factory = std::function<std::shared_ptr<state_store>(logger&)>;

/// Adds to the actor system's configuration before the system starts: the
/// CAF modules and message types a cluster needs (the middleman, OpenSSL).
using actor_system_setup = std::function<void(caf::actor_system_config&)>;

/// The actors hosting one of the node's services: a keyed service's shards
/// (a key's shard is hash(key) % shards.size()) or a stateless service's
/// instances. What a cluster tells the other nodes, so that they can call
/// this node's actors directly.
struct hosted_service {
  const service_entry* entry = nullptr;
  std::vector<caf::actor> actors;
};

class node {
public:
  /// `open_state` opens the store the activations keep their state in;
  /// none: a memory_state_store (state lives as long as the process).
  explicit node(node_config config, state_store_factory open_state = {});
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Runs `setup` on the actor system's configuration in start(); call
  /// before start().
  void add_actor_system_setup(actor_system_setup setup);

  /// Loads the modules, starts the actor system and the services. Throws
  /// startup_error; after a throw nothing is left running.
  void start();

  /// Sends `env` to `service` (to the actor of env.key for a keyed
  /// service). Safe from any thread. `done` runs
  /// at most once: on the calling thread for an immediate refusal
  /// (unavailable, invalid_argument), otherwise on the serving actor's thread
  /// with the reply or an error (deadline_exceeded when the call was dequeued
  /// past its deadline, internal, ...), or, for an answer that waited for a
  /// write of the key's state, on the state store's thread that finished the
  /// write; it should only hand the answer over. A handler still busy at the deadline
  /// answers late, and a call whose actor stops first (node shutdown) is never
  /// answered: callers keep their own deadline timer, as the gateway does.
  ///
  /// Reads the current directory under a mutex: for occasional callers. A
  /// thread that calls all the time holds a caller instead.
  void call(std::string_view service, envelope env, call_callback done);

  /// Calls into the node from one thread at a time (a gateway I/O thread),
  /// resolving through its own view of the directory without a lock. Made by
  /// make_caller() after start(); must not outlive the node.
  class caller {
  public:
    /// As node::call().
    void call(std::string_view service, envelope env, call_callback done);

  private:
    friend class node;
    explicit caller(node& owner);

    node* node_;
    published<directory>::reader view_;
  };

  caller make_caller();

  /// Where calls go from now on: every resolve after this returns uses
  /// `next` (a cluster's directory, which hands out local_directory()'s
  /// actors for what this node serves). Any thread, after start().
  void publish_directory(std::shared_ptr<const directory> next);

  /// Answers `unavailable` (with `why`) every call this node has in flight
  /// to actors of the process `lost`, at once. For a node the cluster
  /// declared down while its connection still stands (a frozen process):
  /// CAF reports nothing then, and the calls would wait for their deadlines.
  /// Later calls are not refused (they go where the directory says). Any
  /// thread, after start().
  void fail_calls_to(const caf::node_id& lost, std::string why);

  /// Runs `count` instances of stateless `service` from now on, at most its
  /// cluster_instances (only such a service is scaled; the cluster calls
  /// this as its members change). Starts the missing ones; the others leave
  /// the local directory at once and stop `grace` later, once they have no
  /// call in flight, serving whatever reaches them until then — callers
  /// elsewhere learn of the change only later. Any thread, after start().
  /// The service's count now, or none when it is not scaled so (or the node
  /// is stopping).
  std::optional<std::uint32_t> scale(std::string_view service, std::uint32_t count,
                                     std::chrono::milliseconds grace);

  /// The directory of the services this node hosts; valid after start().
  std::shared_ptr<const directory> local_directory() const;

  /// The actors of every service this node hosts; valid after start().
  std::vector<hosted_service> hosted_services() const;

  /// Which keys the keyed shards may serve from now on (see
  /// key_ownership.hpp). Every shard drops the activations `next` does not
  /// let it keep, and holds or sends on the calls it no longer may serve;
  /// `fenced` runs once all have (on an actor thread: it must only hand
  /// over). Any thread, after start(). Until the first call the node serves
  /// every key.
  void publish_ownership(std::shared_ptr<const key_ownership> next,
                         std::function<void()> fenced = {});

  /// The cluster this node is in, for the admin API; call before the
  /// gateway starts (it is read without a lock). Null (the default): the
  /// node runs alone. `membership` must outlive the node's users.
  void set_cluster_membership(cluster_membership* membership) noexcept;
  cluster_membership* membership() const noexcept;

  /// The store the activations keep their state in; valid after start().
  state_store& state() noexcept;

  /// Passivates actors and stops the actor system. Idempotent.
  void stop();

  const node_config& config() const noexcept;
  const service_table& services() const noexcept;
  const std::vector<module_info>& modules() const noexcept;
  std::chrono::system_clock::time_point started_at() const noexcept;
  logger& log() noexcept;
  const logger& log() const noexcept;

  /// Why the node refuses calls now (a bound reached: calls in flight, an
  /// actor's mailbox, activations), as one line such as "in-flight limit
  /// reached (50 calls)"; empty when it does not. It says so from a call
  /// refused at a bound until a second has passed without one. Any thread;
  /// lock-free and cheap (a few atomic loads; a string only while shedding).
  std::string shedding() const;

  /// The node's load now, summed over its services (for the admin API).
  struct load_counts {
    std::uint64_t inflight = 0;     // calls accepted and not yet answered
    std::uint64_t activations = 0;  // keyed activations
    std::uint64_t calls_shed = 0;   // calls refused at a bound since start
    std::uint64_t slow_calls = 0;   // handler runs past the slow-handler threshold
  };
  load_counts load() const;

  /// Clears a failed service's state so it serves again (operator action).
  bool reset_service(const std::string& name);

  // -- for in-process drivers (benchmarks, tests) -----------------------------

  /// The actor a call for (service, key) goes to now; invalid when none.
  caf::actor resolve(std::string_view service, std::string_view key) const;

  /// The node's actor system; valid between start() and stop().
  caf::actor_system& system();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::runtime
