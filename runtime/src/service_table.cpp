#include "troupe/runtime/service_table.hpp"

#include <algorithm>

namespace troupe::runtime {

std::string_view to_string(service_kind kind) noexcept {
  return kind == service_kind::keyed ? "keyed" : "stateless";
}

std::uint64_t service_stats::inflight() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& h : hosts)
    sum += h->inflight();
  return sum;
}

std::uint64_t service_stats::mailbox_high_water() const noexcept {
  std::uint64_t most = 0;
  for (const auto& h : hosts)
    most = std::max(most, h->queued_high_water());
  return most;
}

std::uint64_t service_stats::calls_shed() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& h : hosts)
    sum += h->shed();
  return sum;
}

bool service_table::add(std::unique_ptr<service_entry> entry) {
  auto pos = std::lower_bound(entries_.begin(), entries_.end(), entry->name,
                              [](const auto& e, const std::string& name) {
                                return e->name < name;
                              });
  if (pos != entries_.end() && (*pos)->name == entry->name)
    return false;
  entries_.insert(pos, std::move(entry));
  return true;
}

const service_entry* service_table::find(std::string_view name) const noexcept {
  auto pos = std::lower_bound(entries_.begin(), entries_.end(), name,
                              [](const auto& e, std::string_view n) {
                                return e->name < n;
                              });
  if (pos != entries_.end() && (*pos)->name == name)
    return pos->get();
  return nullptr;
}

} // namespace troupe::runtime
