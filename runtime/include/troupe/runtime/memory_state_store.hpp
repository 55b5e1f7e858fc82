// A state_store in memory: state survives passivation but not the process.
// The node's default until a durable store is plugged in. Answers every call
// at once, on the caller's thread.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <utility>

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

  /// Bytes stored, keys included.
  std::size_t bytes_used() const;

private:
  using slot = std::pair<std::string, std::string>;  // (service, key)

  const std::size_t max_bytes_;
  mutable std::mutex mtx_;
  std::map<slot, stored_state, std::less<>> states_;
  std::size_t bytes_used_ = 0;
};

} // namespace troupe::runtime
