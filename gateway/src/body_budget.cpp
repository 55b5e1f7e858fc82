#include "body_budget.hpp"

#include <vector>

namespace troupe::gateway::detail {

bool body_budget::try_take(std::size_t bytes) {
  if (waiting_.load() > 0)
    return false;  // first come, first served
  auto used = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || used > limit_ - bytes)
      return false;
  } while (!in_use_.compare_exchange_weak(used, used + bytes));
  return true;
}

void body_budget::take_anyway(std::size_t bytes) {
  in_use_.fetch_add(bytes);
}

std::uint64_t body_budget::take_or_wait(std::size_t bytes, grant_handler granted) {
  if (try_take(bytes))
    return 0;
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock{mutex_};
    ticket = ++next_ticket_;
    queue_.push_back({ticket, bytes, std::move(granted)});
    waiting_.fetch_add(1);
  }
  // Bytes may have been given back between try_take and the queueing, by a
  // thread that saw no waiter.
  grant_waiters();
  return ticket;
}

bool body_budget::cancel(std::uint64_t ticket) {
  bool found = false;
  {
    std::lock_guard lock{mutex_};
    for (auto i = queue_.begin(); i != queue_.end(); ++i) {
      if (i->ticket == ticket) {
        queue_.erase(i);
        waiting_.fetch_sub(1);
        found = true;
        break;
      }
    }
  }
  // The withdrawn waiter may have held up smaller ones behind it.
  if (found)
    grant_waiters();
  return found;
}

void body_budget::give_back(std::size_t bytes) {
  in_use_.fetch_sub(bytes);
  if (waiting_.load() > 0)
    grant_waiters();
}

void body_budget::grant_waiters() {
  std::vector<grant_handler> granted;
  {
    std::lock_guard lock{mutex_};
    while (!queue_.empty()) {
      auto& first = queue_.front();
      auto used = in_use_.load();
      if (first.bytes > limit_ || used > limit_ - first.bytes)
        break;
      // Only this lock's holder takes bytes for waiters; try_take on other
      // threads backs off while waiting_ > 0 (take_anyway may still add).
      in_use_.fetch_add(first.bytes);
      granted.push_back(std::move(first.granted));
      queue_.pop_front();
      waiting_.fetch_sub(1);
    }
  }
  for (auto& handler : granted)
    handler();
}

} // namespace troupe::gateway::detail
