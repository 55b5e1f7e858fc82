// The namespaces (column families) of an open store, and the durability each
// was opened with. Read on every call (by the calling thread, under a shared
// lock held for a map lookup); written by open_namespace at start.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/runtime/state_store.hpp"

namespace troupe::persistence {

struct family_slot;

/// The column-family name of a service's state.
std::string state_family_name(std::string_view service);
/// The service whose state family `family_name` is; empty when it is none.
std::string_view service_of_family(std::string_view family_name);

/// The column-family name of a service's event journals (journal_codec.hpp).
std::string journal_family_name(std::string_view service);
/// The service whose journal family `family_name` is; empty when it is none.
std::string_view service_of_journal_family(std::string_view family_name);

/// What a call needs of its namespace: where its data goes, how durably.
struct namespace_ref {
  family_slot* family = nullptr;  // owned by the store's database
  bool sync = true;
  std::chrono::milliseconds batch_interval{0};
  family_slot* journal = nullptr;  // the journal family; null: the service keeps none
};

class namespace_table {
public:
  struct entry {
    std::string service;
    namespace_ref ref;
    bool opened = false;  // by open_namespace in this run (else: found on disk)
  };

  std::optional<namespace_ref> find(std::string_view service) const;

  /// A namespace found on disk: SYNC until open_namespace says otherwise.
  void add_existing(std::string service, family_slot* family);
  /// The journal family found on disk of a namespace added before.
  void add_existing_journal(std::string_view service, family_slot* journal);
  /// `journal`: the namespace's journal family; null when it keeps none.
  void open(std::string service, family_slot* family,
            const runtime::namespace_options& options, family_slot* journal = nullptr);

  std::optional<entry> get(std::string_view service) const;
  std::vector<entry> all() const;

private:
  mutable std::shared_mutex mtx_;
  std::map<std::string, entry, std::less<>> entries_;
};

} // namespace troupe::persistence
