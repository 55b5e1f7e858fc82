// Where a call for (service, key) goes on this node: one of a stateless
// service's instances, round robin, or the shard that owns a keyed service's
// key. Built at start, read-only afterwards; safe from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>

#include "string_map.hpp"
#include "troupe/runtime/service_table.hpp"
#include "troupe/status.hpp"

namespace troupe::runtime {

struct service_host {
  const service_entry* entry = nullptr;
  std::vector<caf::actor> actors;  // stateless: instances; keyed: shards
  mutable std::atomic<std::uint64_t> next{0};
};

struct call_target {
  status error;  // not ok: no target, answer the caller with this
  caf::actor actor;
};

class service_directory {
public:
  void add(std::unique_ptr<service_host> host);

  call_target resolve(std::string_view service, std::string_view key) const;

  /// Every actor of every service, for shutdown.
  std::vector<caf::actor> all_actors() const;

private:
  string_map<std::unique_ptr<service_host>> hosts_;
};

} // namespace troupe::runtime
