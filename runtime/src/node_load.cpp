#include "node_load.hpp"

#include <algorithm>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>

#include "reply_mapping.hpp"

namespace troupe::runtime {

namespace {

/// How often a refusal updates the node's record of it, at most: under a
/// flood of refusals the record is one cache line read, not written, by
/// every refusing thread.
constexpr std::int64_t shed_record_interval_ns = 10'000'000;

} // namespace

node_load::node_load(const node_config& config, std::size_t hosts)
  : budget_(inflight_budget::for_hosts(config.max_inflight, hosts)),
    max_mailbox_(config.max_mailbox),
    max_activations_(config.max_activations),
    slow_threshold_ns_(
      std::chrono::duration_cast<std::chrono::nanoseconds>(config.slow_handler_threshold)
        .count()) {
}

node_load::room node_load::reserve_activation(const service_entry& entry) noexcept {
  auto n = activations_.load(std::memory_order_relaxed);
  do {
    if (n >= max_activations_)
      return room::node_full;
  } while (!activations_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  auto& count = entry.stats->active_actors;
  if (entry.max_activations == 0) {
    count.fetch_add(1, std::memory_order_relaxed);
    return room::granted;
  }
  auto s = count.load(std::memory_order_relaxed);
  do {
    if (s >= entry.max_activations) {
      activations_.fetch_sub(1, std::memory_order_relaxed);
      return room::service_full;
    }
  } while (!count.compare_exchange_weak(s, s + 1, std::memory_order_relaxed));
  return room::granted;
}

void node_load::release_activations(const service_entry& entry, std::uint64_t n) noexcept {
  if (n == 0)
    return;
  activations_.fetch_sub(n, std::memory_order_relaxed);
  entry.stats->active_actors.fetch_sub(n, std::memory_order_relaxed);
}

void node_load::add_shard(caf::actor_addr addr, const host_load& load) {
  shards_.push_back({std::move(addr), &load});
}

std::vector<caf::actor> node_load::room_candidates(const service_entry* only,
                                                   const host_load& self) const {
  std::vector<std::pair<std::uint64_t, const shard_ref*>> found;
  for (const auto& shard : shards_)
    if (shard.load != &self && (only == nullptr || &shard.load->service() == only))
      if (auto n = shard.load->activations(); n > 0)
        found.emplace_back(n, &shard);
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<caf::actor> result;
  for (const auto& [n, shard] : found)
    if (auto actor = caf::actor_cast<caf::actor>(shard->addr))
      result.push_back(std::move(actor));
  return result;
}

void node_load::record_shed(shed_reason why, const service_entry* where) noexcept {
  auto now = steady_coarse_now_ns();
  auto last = last_shed_ns_.load(std::memory_order_relaxed);
  if (now - last < shed_record_interval_ns && last_reason_.load(std::memory_order_relaxed) == why)
    return;
  last_reason_.store(why, std::memory_order_relaxed);
  last_where_.store(where, std::memory_order_relaxed);
  last_shed_ns_.store(now, std::memory_order_release);
}

std::string node_load::shedding() const {
  auto last = last_shed_ns_.load(std::memory_order_acquire);
  if (last == 0
      || steady_coarse_now_ns() - last
           > std::chrono::duration_cast<std::chrono::nanoseconds>(shedding_window).count())
    return {};
  return describe(last_reason_.load(std::memory_order_relaxed), *this,
                  last_where_.load(std::memory_order_relaxed));
}

status node_load::shed_status(shed_reason why, const service_entry& target) const {
  std::string what;
  switch (why) {
    case shed_reason::inflight:
      what = "the node is overloaded: ";
      break;
    case shed_reason::mailbox:
      what = "service " + target.name + " is overloaded: ";
      break;
    case shed_reason::activations:
    case shed_reason::service_activations:
      what = "no room for another actor of " + target.name + ": ";
      break;
    case shed_reason::none:
      break;
  }
  return status{status_code::unavailable,
                what + describe(why, *this, &target) + "; retry later"};
}

reply_envelope node_load::shed_reply(shed_reason why, const service_entry& target) const {
  auto answer = to_reply(shed_status(why, target));
  answer.retry_after_ms = static_cast<std::uint32_t>(shed_retry_after.count());
  return answer;
}

status node_load::admit(host_load& target, envelope& env) {
  auto verdict = target.admit(max_mailbox_);
  if (verdict == admission::admitted) {
    env.admitted = true;
    return {};
  }
  auto why = verdict == admission::mailbox_full ? shed_reason::mailbox : shed_reason::inflight;
  target.count_shed();
  record_shed(why, &target.service());
  return shed_status(why, target.service());
}

std::string describe(shed_reason why, const node_load& load, const service_entry* where) {
  switch (why) {
    case shed_reason::inflight:
      return "in-flight limit reached (" + std::to_string(load.budget()->limit())
             + " calls)";
    case shed_reason::mailbox:
      return "mailbox limit reached (" + std::to_string(load.max_mailbox())
             + " calls waiting for one actor"
             + (where != nullptr ? " of " + where->name : std::string{}) + ")";
    case shed_reason::activations:
      return "activation limit reached (" + std::to_string(load.max_activations())
             + " activations, none idle to passivate)";
    case shed_reason::service_activations:
      return "activation limit of "
             + (where != nullptr ? where->name + " reached ("
                                     + std::to_string(where->max_activations)
                                   : std::string{"a service reached ("})
             + " activations, none idle to passivate)";
    case shed_reason::none:
      break;
  }
  return {};
}

} // namespace troupe::runtime
