// This node's key_ownership (runtime/key_ownership.hpp) under one membership
// epoch: the placements of the last epochs it applied, the epoch every node
// has taken up (settled), and the lease.
//
// A key is this node's to serve when it owns it under every epoch from the
// settled one (a key without an activation) or from its activation's last
// check (a key with one) up to the current epoch: then no other node can have
// served it in between, because that node would have had to own it under one
// of those epochs. The placements kept are bounded (max_history); an
// activation older than them is dropped and starts again from the store.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "placement.hpp"
#include "troupe/runtime/key_ownership.hpp"

namespace troupe::cluster {

/// The lease, renewed by the cluster agent, read by every keyed call.
struct lease_state {
  std::atomic<std::int64_t> until_ns{0};  // steady clock
};

/// Unavailable once the lease has run out (a clock read).
status lease_status(const lease_state& lease);

class cluster_ownership final : public runtime::key_ownership {
public:
  static constexpr std::size_t max_history = 32;

  /// `history`: placements of consecutive epochs, oldest first, the current
  /// one last. `serving`: this node is an up (or leaving) member; otherwise
  /// `not_serving` says why it serves no keyed call.
  cluster_ownership(std::uint64_t self, std::uint64_t settled,
                    std::vector<std::shared_ptr<const placement>> history,
                    std::shared_ptr<const lease_state> lease, bool serving,
                    std::string not_serving);

  std::uint64_t epoch() const noexcept override;
  bool settled() const noexcept override;
  status lease() const override;
  verdict check(std::string_view service, std::string_view key,
                std::uint64_t since) const override;

private:
  std::uint64_t self_;
  std::uint64_t settled_;
  std::vector<std::shared_ptr<const placement>> history_;
  std::shared_ptr<const lease_state> lease_;
  bool serving_;
  std::string not_serving_;
};

} // namespace troupe::cluster
