#include "local_directory.hpp"

#include <caf/actor_cast.hpp>

#include "actor_key.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

void local_directory::add(std::unique_ptr<service_host> host) {
  auto name = host->entry->name;
  hosts_.emplace(std::move(name), std::move(host));
}

call_target local_directory::resolve(std::string_view service,
                                       std::string_view key) const {
  auto i = hosts_.find(service);
  if (i == hosts_.end())
    return {status{status_code::unavailable,
                   "no instance of service " + std::string{service}},
            {}};
  auto& host = *i->second;
  auto* entry = host.entry;
  if (entry->stats->failed.load(std::memory_order_relaxed))
    return {service_failed(entry->name), {}};
  auto count = host.size();
  if (count == 0)
    return {status{status_code::unavailable,
                   "no instance of service " + entry->name},
            {}};
  const auto target = [&](std::size_t i) -> call_target {
    auto actor = host.actor(i);
    if (!actor)
      return {status{status_code::unavailable, "no instance of service " + entry->name}, {}};
    return {status{}, std::move(actor), host.loads[i]};
  };
  if (entry->kind == service_kind::keyed) {
    if (key.empty())
      return {status{status_code::invalid_argument,
                     "service " + entry->name + " is keyed: the call needs a key"},
              {}};
    if (auto invalid = validate_key(key); !invalid.is_ok())
      return {std::move(invalid), {}};
    return target(std::hash<std::string_view>{}(key) % count);
  }
  auto pick = host.next.fetch_add(1, std::memory_order_relaxed) % count;
  if (entry->blocking) {
    // Round robin would queue a call behind a handler that blocks for long
    // while another instance is free: take the least busy, starting at the
    // cursor so that ties spread.
    auto least = host.loads[pick]->inflight();
    for (std::size_t i = 1; i < count && least > 0; ++i) {
      auto candidate = (pick + i) % count;
      auto n = host.loads[candidate]->inflight();
      if (n < least) {
        least = n;
        pick = candidate;
      }
    }
  }
  return target(pick);
}

caf::actor service_host::actor(std::size_t i) const {
  if (i < actors.size())
    return actors[i];
  return caf::actor_cast<caf::actor>(detached[i - actors.size()]);
}

std::vector<caf::actor> local_directory::all_actors() const {
  std::vector<caf::actor> result;
  for (auto& [name, host] : hosts_)
    for (std::size_t i = 0; i < host->size(); ++i)
      if (auto actor = host->actor(i))
        result.push_back(std::move(actor));
  return result;
}

} // namespace troupe::runtime
