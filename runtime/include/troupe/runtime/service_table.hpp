// The services hosted by this node: their definitions, how they are run, and
// live counters. Built once at start and immutable afterwards except for the
// counters and the failed flag, so any thread (gateway I/O threads included)
// may read it without locking.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/module.hpp"
#include "troupe/runtime/host_load.hpp"
#include "troupe/runtime/key_failure_monitor.hpp"
#include "troupe/runtime/restart_tracker.hpp"
#include "troupe/runtime/sharded_counter.hpp"
#include "troupe/runtime/state_store.hpp"

namespace google::protobuf {
class Descriptor;
class ServiceDescriptor;
} // namespace google::protobuf

namespace troupe::runtime {

enum class service_kind { stateless, keyed };

std::string_view to_string(service_kind kind) noexcept;

/// Counters and flags that change while the service runs.
struct service_stats {
  std::atomic<bool> failed{false};
  std::atomic<std::uint64_t> active_actors{0};  // keyed activations, quarantined keys included
  std::atomic<std::uint32_t> instances{0};      // stateless: running on this node now
  std::atomic<std::uint64_t> restarts{0};
  sharded_counter calls;  // a slot per actor hosting the service
  std::atomic<std::uint64_t> failures{0};       // handler throws
  std::atomic<std::uint64_t> slow_calls{0};     // handler runs past the slow-handler threshold
  // Per method (by index in the descriptor): ran past the threshold once,
  // so that each method is reported once.
  std::vector<std::atomic<bool>> slow_methods;
  // One per actor that may host the service (a stateless service that the
  // cluster scales: one per instance it may run, used by each instance that
  // runs in that place in turn); set before the service serves, read-only
  // after.
  std::vector<std::shared_ptr<host_load>> hosts;

  /// Calls accepted and not yet answered, over the service's actors.
  std::uint64_t inflight() const noexcept;
  /// The most calls seen waiting for one of its actors.
  std::uint64_t mailbox_high_water() const noexcept;
  /// Calls refused at a limit.
  std::uint64_t calls_shed() const noexcept;
};

struct service_entry {
  std::string name;  // fully qualified proto name
  service_kind kind = service_kind::stateless;
  const google::protobuf::ServiceDescriptor* descriptor = nullptr;
  std::string module;  // name of the module that registered it
  service_definition definition;
  std::uint32_t instances = 0;             // stateless: per node at start (stats->instances: now)
  // Stateless: the service's instances in the whole cluster, which the
  // cluster spreads over its nodes (node::scale); 0: `instances` per node.
  std::uint32_t cluster_instances = 0;
  std::chrono::milliseconds idle_timeout{0};  // keyed
  bool blocking = false;      // handlers may block: the actors have threads of their own
  std::uint32_t threads = 0;  // blocking: the actors (and threads) on this node
  std::uint64_t max_activations = 0;  // keyed: on this node at most; 0: the node's bound only
  restart_policy policy;  // keyed: for each key on its own
  std::shared_ptr<restart_tracker> tracker;  // stateless: shared by the instances
  std::shared_ptr<key_failure_monitor> key_monitor;  // keyed: shared by the shards
  // Keyed services that declare state ((troupe.service).state): its message
  // type, and how the state store keeps it. Null: no state.
  const google::protobuf::Descriptor* state_type = nullptr;
  namespace_options state_options;
  // Keyed services whose state is journaled ((troupe.service).state.journal):
  // the event type, how many events apart snapshots are stored, and whether
  // a snapshot drops the events before it. Null: the state is one value.
  const google::protobuf::Descriptor* event_type = nullptr;
  std::uint32_t snapshot_every = 0;
  bool truncate_journal = false;
  // Stateless services with key-value storage ((troupe.service).kv), kept
  // with state_options in the service's namespace.
  bool key_value = false;
  // Shared with the service's actors, which may outlive a stop() in flight.
  std::shared_ptr<service_stats> stats = std::make_shared<service_stats>();
};

class service_table {
public:
  /// Fails (returns false) when the name is taken.
  bool add(std::unique_ptr<service_entry> entry);

  /// nullptr when no such service.
  const service_entry* find(std::string_view name) const noexcept;

  /// Sorted by name.
  const std::vector<std::unique_ptr<service_entry>>& entries() const noexcept {
    return entries_;
  }

private:
  std::vector<std::unique_ptr<service_entry>> entries_;
};

} // namespace troupe::runtime
