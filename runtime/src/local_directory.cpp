#include "local_directory.hpp"

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
  if (host.actors.empty())
    return {status{status_code::unavailable,
                   "no instance of service " + entry->name},
            {}};
  if (entry->kind == service_kind::keyed) {
    if (key.empty())
      return {status{status_code::invalid_argument,
                     "service " + entry->name + " is keyed: the call needs a key"},
              {}};
    if (auto invalid = validate_key(key); !invalid.is_ok())
      return {std::move(invalid), {}};
    auto shard = std::hash<std::string_view>{}(key) % host.actors.size();
    return {status{}, host.actors[shard]};
  }
  auto n = host.next.fetch_add(1, std::memory_order_relaxed);
  return {status{}, host.actors[n % host.actors.size()]};
}

std::vector<caf::actor> local_directory::all_actors() const {
  std::vector<caf::actor> result;
  for (auto& [name, host] : hosts_)
    result.insert(result.end(), host->actors.begin(), host->actors.end());
  return result;
}

} // namespace troupe::runtime
