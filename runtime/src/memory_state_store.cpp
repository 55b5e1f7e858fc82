#include "troupe/runtime/memory_state_store.hpp"

#include <tuple>

namespace troupe::runtime {

state_store::~state_store() = default;

void state_store::list_keys(std::string_view, std::string_view, std::size_t,
                            keys_callback done) {
  done(status{status_code::unimplemented, "this state store cannot list its keys"}, {}, false);
}

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

} // namespace troupe::runtime

namespace troupe::runtime {

void memory_state_store::list_keys(std::string_view service, std::string_view after,
                                   std::size_t limit, keys_callback done) {
  std::vector<std::string> keys;
  bool more = false;
  {
    std::lock_guard guard{mtx_};
    for (auto i = states_.upper_bound(slot_view{service, after});
         i != states_.end() && i->first.first == service; ++i) {
      if (keys.size() == limit) {
        more = true;
        break;
      }
      keys.push_back(i->first.second);
    }
  }
  done(status{}, std::move(keys), more);
}

} // namespace troupe::runtime
