#include "troupe/runtime/memory_state_store.hpp"

#include <tuple>

namespace troupe::runtime {

state_store::~state_store() = default;

namespace {

/// Looks a (service, key) pair up without building strings.
struct slot_view {
  std::string_view service;
  std::string_view key;
};

bool operator<(const std::pair<std::string, std::string>& a, const slot_view& b) {
  return std::tie(a.first, a.second) < std::tie(b.service, b.key);
}

bool operator<(const slot_view& a, const std::pair<std::string, std::string>& b) {
  return std::tie(a.service, a.key) < std::tie(b.first, b.second);
}

std::size_t footprint(std::string_view service, std::string_view key, std::size_t bytes) {
  return service.size() + key.size() + bytes;
}

} // namespace

memory_state_store::memory_state_store(std::size_t max_bytes) : max_bytes_(max_bytes) {
}

status memory_state_store::open_namespace(std::string_view, const namespace_options&) {
  return {};
}

void memory_state_store::load(std::string_view service, std::string_view key,
                              load_callback done) {
  stored_state result;
  {
    std::lock_guard guard{mtx_};
    if (auto i = states_.find(slot_view{service, key}); i != states_.end())
      result = i->second;
  }
  done(status{}, std::move(result));
}

void memory_state_store::save(std::string_view service, std::string_view key,
                              std::uint64_t replaces, std::string bytes, write_callback done) {
  status result;
  {
    std::lock_guard guard{mtx_};
    auto i = states_.find(slot_view{service, key});
    std::uint64_t stored = i == states_.end() ? 0 : i->second.version;
    std::size_t old_size = i == states_.end() ? 0 : footprint(service, key, i->second.bytes.size());
    std::size_t new_size = footprint(service, key, bytes.size());
    if (stored != replaces) {
      result = status{status_code::aborted,
                      "the state was written by another writer (version "
                        + std::to_string(stored) + ", expected "
                        + std::to_string(replaces) + ")"};
    } else if (bytes_used_ - old_size + new_size > max_bytes_) {
      result = status{status_code::resource_exhausted, "the state store is full"};
    } else {
      if (i == states_.end())
        i = states_.emplace(slot{std::string{service}, std::string{key}}, stored_state{})
              .first;
      i->second.version = replaces + 1;
      i->second.bytes = std::move(bytes);
      bytes_used_ = bytes_used_ - old_size + new_size;
    }
  }
  done(std::move(result));
}

void memory_state_store::erase(std::string_view service, std::string_view key,
                               write_callback done) {
  {
    std::lock_guard guard{mtx_};
    if (auto i = states_.find(slot_view{service, key}); i != states_.end()) {
      bytes_used_ -= footprint(service, key, i->second.bytes.size());
      states_.erase(i);
    }
  }
  done(status{});
}

std::size_t memory_state_store::bytes_used() const {
  std::lock_guard guard{mtx_};
  return bytes_used_;
}

store_figures memory_state_store::figures() const {
  store_figures out;
  out.engine = "memory";
  out.memory_bytes = bytes_used();
  return out;
}

std::optional<namespace_figures> memory_state_store::figures(std::string_view service) const {
  namespace_figures out;
  out.service = std::string{service};
  bool any = false;
  std::lock_guard guard{mtx_};
  // The slots of one service are adjacent: (service, "") sorts first.
  for (auto i = states_.lower_bound(slot_view{service, {}});
       i != states_.end() && i->first.first == service; ++i) {
    any = true;
    ++out.keys;
    out.live_data_bytes += footprint(service, i->first.second, i->second.bytes.size());
  }
  if (!any)
    return std::nullopt;
  return out;
}

void memory_state_store::checkpoint(std::string, std::function<void(status)> done) {
  done({status_code::failed_precondition,
        "this node keeps state in memory: there is nothing on disk to back up"});
}

} // namespace troupe::runtime
