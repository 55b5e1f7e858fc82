#include "deadline_queue.hpp"

#include <algorithm>

namespace troupe::runtime {

deadline_queue::id_type deadline_queue::add(std::int64_t deadline_ns, expiry on_expire) {
  auto id = next_id_++;
  live_.emplace(id, std::move(on_expire));
  heap_.emplace(deadline_ns, id);
  if (heap_.size() > 2 * live_.size() + 1024) {
    std::vector<slot> kept;
    kept.reserve(live_.size());
    while (!heap_.empty()) {
      if (live_.count(heap_.top().second))
        kept.push_back(heap_.top());
      heap_.pop();
    }
    heap_ = decltype(heap_){std::greater<>{}, std::move(kept)};
  }
  return id;
}

bool deadline_queue::complete(id_type id) {
  auto erased = live_.erase(id) > 0;
  drop_answered_top();
  return erased;
}

void deadline_queue::expire(std::int64_t now_ns) {
  drop_answered_top();
  while (!heap_.empty() && heap_.top().first <= now_ns) {
    auto id = heap_.top().second;
    heap_.pop();
    auto i = live_.find(id);
    if (i != live_.end()) {
      auto fn = std::move(i->second);
      live_.erase(i);
      fn();
    }
    drop_answered_top();
  }
}

std::optional<std::int64_t> deadline_queue::next_deadline() {
  drop_answered_top();
  if (heap_.empty())
    return std::nullopt;
  return heap_.top().first;
}

std::optional<std::chrono::nanoseconds>
deadline_queue::timer_to_arm(std::int64_t now_ns) {
  auto next = next_deadline();
  if (!next || (armed_ && *armed_ <= *next))
    return std::nullopt;
  armed_ = *next;
  return std::chrono::nanoseconds{std::max<std::int64_t>(*next - now_ns, 1'000'000)};
}

void deadline_queue::drop_answered_top() {
  while (!heap_.empty() && live_.count(heap_.top().second) == 0)
    heap_.pop();
}

} // namespace troupe::runtime
