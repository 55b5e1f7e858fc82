// A state_store in memory: state survives passivation but not the process.
// The node's default until a durable store is plugged in. Answers every call
// at once, on the caller's thread. Keeps event journals and key-value
// namespaces too, under the same byte bound.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "troupe/runtime/state_store.hpp"

namespace troupe::runtime {

class memory_state_store final : public state_store {
public:
  /// Refuses saves (resource_exhausted) that would take the stored bytes,
  /// keys included, past `max_bytes`.
  explicit memory_state_store(std::size_t max_bytes = std::size_t{256} << 20);

  /// Every namespace is ready at once; durability options have nothing to do.
  status open_namespace(std::string_view service, const namespace_options& options) override;

  void load(std::string_view service, std::string_view key, load_callback done) override;
  void save(std::string_view service, std::string_view key, std::uint64_t replaces,
            std::string bytes, write_callback done) override;
  void erase(std::string_view service, std::string_view key, write_callback done) override;
  void list_keys(std::string_view service, std::string_view after, std::size_t limit,
                 keys_callback done) override;
  void import_key(std::string_view service, std::string_view key, key_image image,
                  write_callback done) override;

  // -- event journals ---------------------------------------------------------
  void append(std::string_view service, std::string_view key, journal_append append,
              write_callback done) override;
  void read_events(std::string_view service, std::string_view key, std::uint64_t from_seq,
                   std::size_t limit, events_callback done) override;

  // -- key-value storage ------------------------------------------------------
  void scan(std::string_view service, std::string_view prefix, std::string_view after,
            std::size_t limit, scan_callback done) override;
  void write_batch(std::string_view service, std::vector<kv_mutation> batch,
                   write_callback done) override;

  /// Bytes stored, keys included.
  std::size_t bytes_used() const;

  /// engine "memory", memory_bytes = bytes_used(); per namespace its keys
  /// and their bytes (live_data_bytes). Nothing is on disk.
  store_figures figures() const override;
  std::optional<namespace_figures> figures(std::string_view service) const override;

  /// failed_precondition: state in memory has no copy to take; it is gone
  /// with the process.
  void checkpoint(std::string dir, std::function<void(status)> done) override;

private:
  using slot = std::pair<std::string, std::string>;  // (service, key)
  using journal = std::map<std::uint64_t, std::string>;  // seq -> event

  /// Stores `bytes` as `key`'s state at `version`, or removes it (nullopt);
  /// under mtx_, the bound already checked.
  void put_locked(std::string_view service, std::string_view key, std::uint64_t version,
                  std::string bytes);
  void erase_locked(std::string_view service, std::string_view key);

  const std::size_t max_bytes_;
  mutable std::mutex mtx_;
  std::map<slot, stored_state, std::less<>> states_;
  std::map<slot, journal, std::less<>> journals_;
  std::size_t bytes_used_ = 0;
};

} // namespace troupe::runtime
