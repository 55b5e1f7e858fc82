// The node's bounds on its load, and what every host actor counts against
// them: calls in flight (a budget of tokens, see host_load.hpp), keyed
// activations (one count for the node, one per service), the calls refused
// and why. Built by the node at start; the hosts and the node's callers use
// it from any thread without a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/host_load.hpp"
#include "troupe/runtime/node_config.hpp"
#include "troupe/runtime/service_table.hpp"
#include "troupe/status.hpp"

namespace troupe::runtime {

/// Which bound a refused call met.
enum class shed_reason : std::uint8_t {
  none,
  inflight,             // the node's calls in flight
  mailbox,              // the calls waiting for one actor
  activations,          // the node's keyed activations
  service_activations,  // one service's keyed activations
};

/// How long after its last refusal a node still says it is shedding load.
constexpr std::chrono::milliseconds shedding_window{1'000};

/// The retry-after hint of a call refused at a bound.
constexpr std::chrono::milliseconds shed_retry_after{1'000};

class node_load {
public:
  /// `hosts`: how many actors will host services, which sizes the chunks
  /// of the in-flight budget.
  node_load(const node_config& config, std::size_t hosts);

  node_load(const node_load&) = delete;
  node_load& operator=(const node_load&) = delete;

  const std::shared_ptr<inflight_budget>& budget() const noexcept {
    return budget_;
  }
  std::uint64_t max_mailbox() const noexcept {
    return max_mailbox_;
  }
  std::uint64_t max_activations() const noexcept {
    return max_activations_;
  }
  /// In the unit of steady_coarse_now_ns().
  std::int64_t slow_handler_threshold_ns() const noexcept {
    return slow_threshold_ns_;
  }

  // -- keyed activations -------------------------------------------------------

  enum class room : std::uint8_t { granted, node_full, service_full };

  /// Counts one more activation of `entry`, unless the node or the service
  /// is at its bound.
  room reserve_activation(const service_entry& entry) noexcept;

  /// `n` activations of `entry` went.
  void release_activations(const service_entry& entry, std::uint64_t n) noexcept;

  std::uint64_t activations() const noexcept {
    return activations_.load(std::memory_order_relaxed);
  }

  /// The keyed shards of the node, which passivate idle activations early
  /// when asked (added by the node before any call reaches a shard).
  void add_shard(caf::actor_addr addr, const host_load& load);

  /// The shards to ask for room, most activations first: those of `only`
  /// (all when null) with activations, other than `self`.
  std::vector<caf::actor> room_candidates(const service_entry* only,
                                          const host_load& self) const;

  // -- refusals ----------------------------------------------------------------

  /// A call was refused at a bound (of `where`, for a service's own bound).
  void record_shed(shed_reason why, const service_entry* where = nullptr) noexcept;

  /// The status a call refused at a bound answers, naming the bound.
  status shed_status(shed_reason why, const service_entry& target) const;

  /// The same as a reply, with the retry-after hint.
  reply_envelope shed_reply(shed_reason why, const service_entry& target) const;

  /// Admits a call for `target` before a sender in this process sends it,
  /// and marks `env` admitted; at a bound, counts the refusal and returns
  /// why (ok when admitted).
  status admit(host_load& target, envelope& env);

  /// Why the node refused calls within the last shedding_window; empty when
  /// it did not.
  std::string shedding() const;

private:
  std::shared_ptr<inflight_budget> budget_;
  const std::uint64_t max_mailbox_;
  const std::uint64_t max_activations_;
  const std::int64_t slow_threshold_ns_;
  alignas(64) std::atomic<std::uint64_t> activations_{0};
  struct shard_ref {
    caf::actor_addr addr;  // weak: the shards hold this object
    const host_load* load;
  };
  std::vector<shard_ref> shards_;  // filled before the first call, read-only after
  // The latest refusal, written at most once per few milliseconds.
  alignas(64) std::atomic<std::int64_t> last_shed_ns_{0};
  std::atomic<shed_reason> last_reason_{shed_reason::none};
  std::atomic<const service_entry*> last_where_{nullptr};
};

/// "in-flight limit reached (50)" and the like: what a refusal at `why`
/// tells an operator, with `where` for a service's own bound.
std::string describe(shed_reason why, const node_load& load, const service_entry* where);

} // namespace troupe::runtime
