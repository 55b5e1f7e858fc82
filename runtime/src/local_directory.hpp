// The node-local directory: where a call for (service, key) goes among the
// services this node hosts — one of a stateless service's instances (round
// robin; for a blocking service, the one with the fewest calls in flight,
// since one call may hold an instance for long), or the shard that owns a
// keyed service's key. Built once the
// services are spawned and immutable afterwards (the round-robin cursor
// aside), so any thread may resolve through it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "string_map.hpp"
#include "troupe/runtime/directory.hpp"
#include "troupe/runtime/service_table.hpp"

namespace troupe::runtime {

/// The actors hosting one service on this node.
struct service_host {
  const service_entry* entry = nullptr;
  // Stateless: instances; keyed: shards. A blocking service's actors are
  // held weakly (`detached`): each has a thread of its own, which CAF ends
  // only once nothing refers to its actor any more, so the node, which
  // holds them strongly, must be able to let go of them at stop while a
  // caller may still hold an old directory.
  std::vector<caf::actor> actors;
  std::vector<caf::actor_addr> detached;
  std::vector<host_load*> loads;   // of the actors, in their order (entry->stats->hosts)
  mutable std::atomic<std::uint64_t> next{0};

  std::size_t size() const noexcept {
    return actors.size() + detached.size();
  }
  /// The i-th actor; invalid when it is gone.
  caf::actor actor(std::size_t i) const;
};

class local_directory final : public directory {
public:
  void add(std::unique_ptr<service_host> host);

  call_target resolve(std::string_view service, std::string_view key) const override;

  /// Every actor of every service, for shutdown.
  std::vector<caf::actor> all_actors() const;

private:
  string_map<std::unique_ptr<service_host>> hosts_;
};

} // namespace troupe::runtime
