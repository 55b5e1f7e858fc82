// The memory that request bodies may hold at once, across all connections
// of a server (--max-body-memory). A connection takes a body's bytes from
// the budget before it reads the body and gives them back when the request
// is answered; a body that does not fit waits, unread (the client's bytes
// stay in the socket buffers: back-pressure), until enough is given back.
//
// Waiters are served first come, first served: a body is not granted while
// an earlier one still waits, so a large body cannot be starved by small
// ones. Bytes that are in memory already (a body that arrived whole with its
// header) are taken without waiting: the budget may go over its limit by
// what the connections' read buffers hold, and the waiters then wait longer.
//
// The fast path is lock-free: one atomic add to take, one subtract to give
// back. The mutex is taken only when a body must wait, or bytes are given
// back while someone waits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace troupe::gateway::detail {

class body_budget {
public:
  /// Runs once the bytes are granted: on the thread that gave bytes back (or
  /// that asked, when they were granted at once), so it only posts to the
  /// waiter's own thread. From then on the bytes are the waiter's, to give
  /// back even if it no longer wants them.
  using grant_handler = std::function<void()>;

  explicit body_budget(std::size_t limit) : limit_(limit) {
  }

  body_budget(const body_budget&) = delete;
  body_budget& operator=(const body_budget&) = delete;

  /// Takes `bytes` if they fit and no one waits; false when not.
  bool try_take(std::size_t bytes);

  /// Takes `bytes` whether they fit or not: they are in memory already.
  void take_anyway(std::size_t bytes);

  /// Takes `bytes` at once if they fit and no one waits (returns 0), or
  /// queues the wait and returns its ticket (never 0): `granted` runs once
  /// the bytes are taken for the waiter, unless cancel(ticket) came first.
  std::uint64_t take_or_wait(std::size_t bytes, grant_handler granted);

  /// Withdraws a wait. True when it was still queued; false when it was
  /// granted already (its handler has run or is running, and the bytes are
  /// the waiter's).
  bool cancel(std::uint64_t ticket);

  /// Gives back bytes taken before, granting waiters that now fit.
  void give_back(std::size_t bytes);

  std::size_t limit() const noexcept {
    return limit_;
  }
  std::size_t in_use() const noexcept {
    return in_use_.load(std::memory_order_relaxed);
  }
  std::size_t waiting() const noexcept {
    return waiting_.load(std::memory_order_relaxed);
  }

private:
  struct waiter {
    std::uint64_t ticket;
    std::size_t bytes;
    grant_handler granted;
  };

  /// Grants queued waiters that fit, in order; their handlers run after the
  /// lock is released.
  void grant_waiters();

  const std::size_t limit_;
  std::atomic<std::size_t> in_use_{0};
  // Waiters queued; read without the lock on the fast paths. Raised under
  // the lock before a waiter re-checks in_use_, and read after in_use_ is
  // lowered (both sequentially consistent): either the giver sees the
  // waiter, or the waiter sees the bytes given back. No wake-up is lost.
  std::atomic<std::size_t> waiting_{0};
  std::mutex mutex_;
  std::deque<waiter> queue_;  // bounded by the connections: one wait each
  std::uint64_t next_ticket_ = 0;
};

/// Bytes of a body_budget held for one request; given back on destruction or
/// reset().
class body_charge {
public:
  body_charge() = default;
  body_charge(body_budget& budget, std::size_t bytes) : budget_(&budget), bytes_(bytes) {
  }
  body_charge(body_charge&& other) noexcept
    : budget_(other.budget_), bytes_(std::exchange(other.bytes_, 0)) {
  }
  body_charge& operator=(body_charge&& other) noexcept {
    if (this != &other) {
      reset();
      budget_ = other.budget_;
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  ~body_charge() {
    reset();
  }

  void reset() {
    if (bytes_ > 0)
      budget_->give_back(std::exchange(bytes_, 0));
  }

  /// Keeps only `bytes` of the charge (the body turned out smaller).
  void shrink_to(std::size_t bytes) {
    if (bytes < bytes_) {
      auto excess = bytes_ - bytes;
      bytes_ = bytes;
      budget_->give_back(excess);
    }
  }

  std::size_t bytes() const noexcept {
    return bytes_;
  }

private:
  body_budget* budget_ = nullptr;
  std::size_t bytes_ = 0;
};

} // namespace troupe::gateway::detail
