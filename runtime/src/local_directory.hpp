// The node-local directory: where a call for (service, key) goes among the
// services this node hosts — one of a stateless service's instances, round
// robin, or the shard that owns a keyed service's key. Built once the
// services are spawned and immutable afterwards (the round-robin cursor
// aside), so any thread may resolve through it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>

#include "string_map.hpp"
#include "troupe/runtime/directory.hpp"
#include "troupe/runtime/service_table.hpp"

namespace troupe::runtime {

/// The actors hosting one service on this node.
struct service_host {
  const service_entry* entry = nullptr;
  std::vector<caf::actor> actors;  // stateless: instances; keyed: shards
  mutable std::atomic<std::uint64_t> next{0};
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
