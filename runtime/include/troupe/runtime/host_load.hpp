// The load of one actor hosting a service's activations (a stateless
// instance, a keyed shard), and the node's bound on calls in flight, counted
// without a lock and without one counter that every core writes.
//
// A call is admitted before it is sent: the sender counts it against the
// host it goes to (queued: in the host's mailbox; in flight: until it is
// answered) and refuses it at once when the host's mailbox is full or the
// node has no room for another call in flight. The host counts the call out
// of its mailbox when it receives it, and out of flight when it is answered.
//
// The node's limit on calls in flight is a pool of tokens (inflight_budget).
// A host reserves tokens in chunks and a call in flight holds one of its
// host's tokens, so the common call touches only its host's counters (one
// cache line, which the sender and the host share anyway through the
// host's mailbox); the pool is touched once per chunk. The limit holds
// exactly: tokens reserved never exceed it, and a host's calls in flight
// never exceed its tokens. The price is that a host may keep up to two
// chunks it does not use, so the node may refuse calls somewhat before the
// limit: the chunk is chosen at start so that this is at most an eighth of
// the limit, and when the limit is small for the number of hosts, a host
// keeps no spare token and the node refuses exactly at the limit.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace troupe::runtime {

class inflight_budget {
public:
  /// `limit` calls in flight at most, reserved `chunk` at a time; a host
  /// keeps at most `spare` tokens it does not use.
  inflight_budget(std::uint64_t limit, std::uint32_t chunk, std::uint32_t spare) noexcept;

  /// The budget for `limit` calls over `hosts` hosts: chunks such that the
  /// spare tokens of all hosts are at most an eighth of the limit.
  static std::shared_ptr<inflight_budget> for_hosts(std::uint64_t limit, std::size_t hosts);

  inflight_budget(const inflight_budget&) = delete;
  inflight_budget& operator=(const inflight_budget&) = delete;

  std::uint64_t limit() const noexcept {
    return limit_;
  }
  std::uint32_t chunk() const noexcept {
    return chunk_;
  }
  std::uint32_t spare() const noexcept {
    return spare_;
  }

  /// Takes up to `want` tokens; how many it got (0 when none are left).
  std::uint64_t take(std::uint64_t want) noexcept;

  /// Returns `n` tokens taken before.
  void give_back(std::uint64_t n) noexcept;

  /// Tokens the hosts hold now: at least the calls in flight.
  std::uint64_t reserved() const noexcept;

private:
  const std::uint64_t limit_;
  const std::uint32_t chunk_;
  const std::uint32_t spare_;
  alignas(64) std::atomic<std::int64_t> free_;
};

/// Why a call was refused.
enum class admission : std::uint8_t {
  admitted,
  mailbox_full,   // the host has max_mailbox calls queued
  inflight_full,  // the node has max_inflight calls in flight
};

struct service_entry;

class alignas(64) host_load {
public:
  /// The load of an actor hosting `service` (which outlives it), counted
  /// against the node's `budget`.
  host_load(std::shared_ptr<inflight_budget> budget, const service_entry& service) noexcept
    : budget_(std::move(budget)), service_(&service) {
  }

  /// The service the host serves.
  const service_entry& service() const noexcept {
    return *service_;
  }

  host_load(const host_load&) = delete;
  host_load& operator=(const host_load&) = delete;

  // -- the call path ----------------------------------------------------------

  /// A sender in this process admits a call for the host: queued and in
  /// flight, unless the host already has `max_mailbox` calls queued or the
  /// node has no room. Any thread.
  admission admit(std::uint64_t max_mailbox) noexcept;

  /// The host took an admitted call out of its mailbox. The host's thread.
  void dequeued() noexcept {
    queued_.fetch_sub(1, std::memory_order_relaxed);
  }

  /// A call arrived that no sender admitted (from another node): in flight,
  /// unless the node has no room. The host's thread.
  bool admit_arrived() noexcept {
    return take_inflight();
  }

  /// An admitted call was answered (or dropped unanswered). Any thread.
  void release() noexcept;

  /// A call for this host was refused at a limit.
  void count_shed() noexcept {
    shed_.fetch_add(1, std::memory_order_relaxed);
  }

  // -- what the admin API shows -----------------------------------------------

  /// Calls admitted and not yet answered.
  std::uint64_t inflight() const noexcept {
    return word_.load(std::memory_order_relaxed) & low_mask;
  }
  /// Calls in the host's mailbox.
  std::uint64_t queued() const noexcept {
    auto q = queued_.load(std::memory_order_relaxed);
    return q > 0 ? static_cast<std::uint64_t>(q) : 0;
  }
  /// The most calls seen queued at once.
  std::uint64_t queued_high_water() const noexcept {
    return queued_high_.load(std::memory_order_relaxed);
  }
  std::uint64_t shed() const noexcept {
    return shed_.load(std::memory_order_relaxed);
  }
  /// Tokens of the node's budget this host holds.
  std::uint64_t reserved() const noexcept {
    return word_.load(std::memory_order_relaxed) >> 32;
  }

  /// A keyed shard's activations, for other shards choosing whom to ask
  /// for room. Written by the shard only.
  std::uint64_t activations() const noexcept {
    return activations_.load(std::memory_order_relaxed);
  }
  void set_activations(std::uint64_t n) noexcept {
    activations_.store(n, std::memory_order_relaxed);
  }

private:
  static constexpr std::uint64_t low_mask = 0xffff'ffffu;
  static constexpr std::uint64_t one_reserved = std::uint64_t{1} << 32;

  bool take_inflight() noexcept;

  // In flight (low 32 bits) and tokens reserved (high 32 bits) in one word,
  // so that "in flight <= reserved" is checked and kept by one atomic step.
  std::atomic<std::uint64_t> word_{0};
  std::atomic<std::int64_t> queued_{0};
  std::atomic<std::uint64_t> queued_high_{0};
  std::atomic<std::uint64_t> shed_{0};
  std::atomic<std::uint64_t> activations_{0};
  // Shared: a call answered late (a promise kept by another thread) gives
  // its place back even after the node is gone.
  std::shared_ptr<inflight_budget> budget_;
  const service_entry* service_;
};

} // namespace troupe::runtime
