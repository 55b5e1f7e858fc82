#include "namespace_table.hpp"

#include <mutex>

namespace troupe::persistence {

namespace {
constexpr std::string_view state_prefix = "state:";
constexpr std::string_view journal_prefix = "journal:";
}

std::string state_family_name(std::string_view service) {
  return std::string{state_prefix}.append(service);
}

std::string_view service_of_family(std::string_view family_name) {
  if (family_name.size() <= state_prefix.size() || family_name.substr(0, state_prefix.size()) != state_prefix)
    return {};
  return family_name.substr(state_prefix.size());
}

std::string journal_family_name(std::string_view service) {
  return std::string{journal_prefix}.append(service);
}

std::string_view service_of_journal_family(std::string_view family_name) {
  if (family_name.size() <= journal_prefix.size() || !family_name.starts_with(journal_prefix))
    return {};
  return family_name.substr(journal_prefix.size());
}

std::optional<namespace_ref> namespace_table::find(std::string_view service) const {
  std::shared_lock guard{mtx_};
  auto i = entries_.find(service);
  if (i == entries_.end())
    return std::nullopt;
  return i->second.ref;
}

void namespace_table::add_existing(std::string service, family_slot* family) {
  std::unique_lock guard{mtx_};
  entry e{service, namespace_ref{family, true, std::chrono::milliseconds{0}}, false};
  entries_.insert_or_assign(std::move(service), std::move(e));
}

void namespace_table::add_existing_journal(std::string_view service, family_slot* journal) {
  std::unique_lock guard{mtx_};
  if (auto i = entries_.find(service); i != entries_.end())
    i->second.ref.journal = journal;
}

void namespace_table::open(std::string service, family_slot* family,
                           const runtime::namespace_options& options, family_slot* journal) {
  using durability = runtime::namespace_options::durability;
  std::unique_lock guard{mtx_};
  if (journal == nullptr)
    if (auto i = entries_.find(service); i != entries_.end())
      journal = i->second.ref.journal;  // kept on disk; still readable and erased with keys
  entry e{service,
          namespace_ref{family, options.mode == durability::sync, options.batch_interval,
                        journal},
          true};
  entries_.insert_or_assign(std::move(service), std::move(e));
}

std::optional<namespace_table::entry> namespace_table::get(std::string_view service) const {
  std::shared_lock guard{mtx_};
  auto i = entries_.find(service);
  if (i == entries_.end())
    return std::nullopt;
  return i->second;
}

std::vector<namespace_table::entry> namespace_table::all() const {
  std::shared_lock guard{mtx_};
  std::vector<entry> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_)
    out.push_back(e);
  return out;
}

} // namespace troupe::persistence
