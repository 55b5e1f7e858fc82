#include "troupe/runtime/host_load.hpp"

#include <algorithm>

namespace troupe::runtime {

inflight_budget::inflight_budget(std::uint64_t limit, std::uint32_t chunk,
                                 std::uint32_t spare) noexcept
  : limit_(std::min<std::uint64_t>(limit, 0xffff'ffffu)),
    chunk_(std::max<std::uint32_t>(chunk, 1)),
    spare_(spare),
    free_(static_cast<std::int64_t>(limit_)) {
}

std::shared_ptr<inflight_budget> inflight_budget::for_hosts(std::uint64_t limit,
                                                            std::size_t hosts) {
  // Two chunks spare per host: hosts * 2 * chunk <= limit / 8.
  auto chunk = limit / (16 * std::max<std::size_t>(hosts, 1));
  if (chunk == 0)
    return std::make_shared<inflight_budget>(limit, 1, 0);
  auto c = static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk, 256));
  return std::make_shared<inflight_budget>(limit, c, 2 * c);
}

std::uint64_t inflight_budget::take(std::uint64_t want) noexcept {
  auto free = free_.load(std::memory_order_relaxed);
  while (free > 0) {
    auto n = std::min<std::int64_t>(free, static_cast<std::int64_t>(want));
    if (free_.compare_exchange_weak(free, free - n, std::memory_order_relaxed))
      return static_cast<std::uint64_t>(n);
  }
  return 0;
}

void inflight_budget::give_back(std::uint64_t n) noexcept {
  free_.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
}

std::uint64_t inflight_budget::reserved() const noexcept {
  auto free = free_.load(std::memory_order_relaxed);
  return limit_ - static_cast<std::uint64_t>(std::max<std::int64_t>(free, 0));
}

admission host_load::admit(std::uint64_t max_mailbox) noexcept {
  auto queued = queued_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (static_cast<std::uint64_t>(queued) > max_mailbox) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    return admission::mailbox_full;
  }
  if (!take_inflight()) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    return admission::inflight_full;
  }
  // Racy max: a lost update only shows a high-water mark a call lower.
  if (static_cast<std::uint64_t>(queued) > queued_high_.load(std::memory_order_relaxed))
    queued_high_.store(static_cast<std::uint64_t>(queued), std::memory_order_relaxed);
  return admission::admitted;
}

bool host_load::take_inflight() noexcept {
  auto word = word_.load(std::memory_order_relaxed);
  for (;;) {
    if ((word & low_mask) < (word >> 32)) {
      // A token of the host's own is free.
      if (word_.compare_exchange_weak(word, word + 1, std::memory_order_relaxed))
        return true;
      continue;
    }
    // Every token the host holds is in use: reserve a chunk (or what is
    // left) from the node's budget, and take one of it at once.
    auto got = budget_->take(budget_->chunk());
    if (got == 0)
      return false;
    word_.fetch_add(got * one_reserved + 1, std::memory_order_relaxed);
    return true;
  }
}

void host_load::release() noexcept {
  auto word = word_.fetch_sub(1, std::memory_order_relaxed) - 1;
  const std::uint64_t spare = budget_->spare();
  // Keep a few tokens spare: enough that a host serving calls one at a time
  // seldom goes back to the budget, few enough that idle hosts do not sit
  // on the node's room.
  for (;;) {
    auto unused = (word >> 32) - (word & low_mask);
    if (unused <= spare)
      return;
    auto back = unused - spare / 2;
    if (word_.compare_exchange_weak(word, word - back * one_reserved,
                                    std::memory_order_relaxed)) {
      budget_->give_back(back);
      return;
    }
  }
}

} // namespace troupe::runtime
