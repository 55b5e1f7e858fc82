#include "troupe/runtime/memory_state_store.hpp"

#include <tuple>
#include <utility>

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

/// An event's bytes, with its key and number.
std::size_t event_footprint(std::string_view service, std::string_view key, std::size_t bytes) {
  return footprint(service, key, bytes) + sizeof(std::uint64_t);
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
    erase_locked(service, key);
    if (auto j = journals_.find(slot_view{service, key}); j != journals_.end()) {
      for (const auto& [seq, bytes] : j->second)
        bytes_used_ -= event_footprint(service, key, bytes.size());
      journals_.erase(j);
    }
  }
  done(status{});
}

void memory_state_store::put_locked(std::string_view service, std::string_view key,
                                    std::uint64_t version, std::string bytes) {
  auto i = states_.find(slot_view{service, key});
  if (i == states_.end())
    i = states_.emplace(slot{std::string{service}, std::string{key}}, stored_state{}).first;
  else
    bytes_used_ -= footprint(service, key, i->second.bytes.size());
  bytes_used_ += footprint(service, key, bytes.size());
  i->second.version = version;
  i->second.bytes = std::move(bytes);
}

void memory_state_store::erase_locked(std::string_view service, std::string_view key) {
  if (auto i = states_.find(slot_view{service, key}); i != states_.end()) {
    bytes_used_ -= footprint(service, key, i->second.bytes.size());
    states_.erase(i);
  }
}

// -- event journals -------------------------------------------------------------

void memory_state_store::append(std::string_view service, std::string_view key,
                                journal_append append, write_callback done) {
  status result;
  {
    std::lock_guard guard{mtx_};
    auto j = journals_.find(slot_view{service, key});
    std::uint64_t last = j == journals_.end() || j->second.empty() ? 0 : j->second.rbegin()->first;
    std::size_t added = 0;
    for (const auto& e : append.events)
      added += event_footprint(service, key, e.size());
    std::size_t snapshot_change = 0;
    std::size_t snapshot_freed = 0;
    if (append.snapshot) {
      snapshot_change = footprint(service, key, append.snapshot->size());
      if (auto i = states_.find(slot_view{service, key}); i != states_.end())
        snapshot_freed = footprint(service, key, i->second.bytes.size());
    }
    if (append.events.empty()) {
      result = {status_code::invalid_argument, "an append needs at least one event"};
    } else if (append.first_seq != last + 1) {
      result = {status_code::aborted, "the journal was written by another writer (last event "
                                        + std::to_string(last) + ", expected "
                                        + std::to_string(append.first_seq - 1) + ")"};
    } else if (bytes_used_ + added + snapshot_change - snapshot_freed > max_bytes_) {
      result = {status_code::resource_exhausted, "the state store is full"};
    } else {
      if (j == journals_.end())
        j = journals_.emplace(slot{std::string{service}, std::string{key}}, journal{}).first;
      auto seq = append.first_seq;
      for (auto& e : append.events)
        j->second.emplace(seq++, std::move(e));
      bytes_used_ += added;
      auto newest = seq - 1;
      if (append.snapshot) {
        put_locked(service, key, newest, std::move(*append.snapshot));
        if (append.truncate) {
          for (auto i = j->second.begin(); i != j->second.end() && i->first < newest;) {
            bytes_used_ -= event_footprint(service, key, i->second.size());
            i = j->second.erase(i);
          }
        }
      }
    }
  }
  done(std::move(result));
}

void memory_state_store::read_events(std::string_view service, std::string_view key,
                                     std::uint64_t from_seq, std::size_t limit,
                                     events_callback done) {
  journal_page page;
  {
    std::lock_guard guard{mtx_};
    if (auto j = journals_.find(slot_view{service, key}); j != journals_.end()) {
      std::size_t bytes = 0;
      for (auto i = j->second.lower_bound(from_seq); i != j->second.end(); ++i) {
        if (page.events.size() >= limit || bytes >= page_bytes_bound) {
          page.more = true;
          break;
        }
        bytes += i->second.size();
        page.events.push_back({i->first, i->second});
      }
    }
  }
  done(status{}, std::move(page));
}

// -- key-value storage ------------------------------------------------------------

void memory_state_store::scan(std::string_view service, std::string_view prefix,
                              std::string_view after, std::size_t limit, scan_callback done) {
  kv_range range;
  std::size_t bytes = 0;
  {
    std::lock_guard guard{mtx_};
    auto i = after >= prefix ? states_.upper_bound(slot_view{service, after})
                             : states_.lower_bound(slot_view{service, prefix});
    for (; i != states_.end() && i->first.first == service
           && std::string_view{i->first.second}.starts_with(prefix);
         ++i) {
      if (range.records.size() >= limit || bytes >= page_bytes_bound) {
        if (!range.records.empty())
          range.next = range.records.back().key;
        break;
      }
      bytes += i->first.second.size() + i->second.bytes.size();
      range.records.push_back({i->first.second, i->second.version, i->second.bytes});
    }
  }
  done(status{}, std::move(range));
}

void memory_state_store::write_batch(std::string_view service, std::vector<kv_mutation> batch,
                                     write_callback done) {
  status result;
  {
    std::lock_guard guard{mtx_};
    // Checked in full before anything is written: all or nothing. A key
    // written twice in the batch is checked against its first write.
    std::map<std::string_view, std::pair<std::uint64_t, std::size_t>> after;  // version, size
    auto current = [&](std::string_view key) -> std::pair<std::uint64_t, std::size_t> {
      if (auto a = after.find(key); a != after.end())
        return a->second;
      auto i = states_.find(slot_view{service, key});
      return i == states_.end() ? std::pair<std::uint64_t, std::size_t>{0, 0}
                                : std::pair{i->second.version, i->second.bytes.size()};
    };
    std::size_t used = bytes_used_;
    for (const auto& m : batch) {
      auto [version, size] = current(m.key);
      if (m.expected && *m.expected != version) {
        result = {status_code::aborted, "the key is at version " + std::to_string(version)
                                          + ", not " + std::to_string(*m.expected)};
        break;
      }
      if (version != 0)
        used -= footprint(service, m.key, size);
      if (m.what == kv_mutation::kind::put) {
        used += footprint(service, m.key, m.value.size());
        after[m.key] = {version + 1, m.value.size()};
      } else {
        after[m.key] = {0, 0};
      }
    }
    if (result.is_ok() && used > max_bytes_)
      result = {status_code::resource_exhausted, "the state store is full"};
    if (result.is_ok()) {
      for (auto& m : batch) {
        if (m.what == kv_mutation::kind::erase) {
          erase_locked(service, m.key);
          continue;
        }
        auto i = states_.find(slot_view{service, m.key});
        auto version = i == states_.end() ? 0 : i->second.version;
        put_locked(service, m.key, version + 1, std::move(m.value));
      }
    }
  }
  done(std::move(result));
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

namespace troupe::runtime {

void memory_state_store::list_keys(std::string_view service, std::string_view after,
                                   std::size_t limit, keys_callback done) {
  // The keys with a state and the keys with a journal, merged in order.
  std::vector<std::string> keys;
  bool more = false;
  {
    std::lock_guard guard{mtx_};
    auto s = states_.upper_bound(slot_view{service, after});
    auto j = journals_.upper_bound(slot_view{service, after});
    auto in_service = [&](const auto& i, const auto& end) {
      return i != end && i->first.first == service;
    };
    while (in_service(s, states_.end()) || in_service(j, journals_.end())) {
      if (keys.size() == limit) {
        more = true;
        break;
      }
      const std::string* next = nullptr;
      if (in_service(s, states_.end()))
        next = &s->first.second;
      if (in_service(j, journals_.end()) && (next == nullptr || j->first.second < *next))
        next = &j->first.second;
      keys.push_back(*next);
      if (in_service(s, states_.end()) && s->first.second == keys.back())
        ++s;
      if (in_service(j, journals_.end()) && j->first.second == keys.back())
        ++j;
    }
  }
  done(status{}, std::move(keys), more);
}

void memory_state_store::import_key(std::string_view service, std::string_view key,
                                    key_image image, write_callback done) {
  status result;
  {
    std::lock_guard guard{mtx_};
    std::size_t before = bytes_used_;
    std::size_t old_bytes = 0;
    if (auto i = states_.find(slot_view{service, key}); i != states_.end())
      old_bytes += footprint(service, key, i->second.bytes.size());
    auto j = journals_.find(slot_view{service, key});
    if (j != journals_.end())
      for (const auto& [seq, bytes] : j->second)
        old_bytes += event_footprint(service, key, bytes.size());
    std::size_t new_bytes = image.state.version == 0
                              ? 0
                              : footprint(service, key, image.state.bytes.size());
    for (const auto& e : image.events)
      new_bytes += event_footprint(service, key, e.size());
    if (!image.events.empty() && image.first_seq == 0) {
      result = status{status_code::invalid_argument, "a journal's events are numbered from 1"};
    } else if (before - old_bytes + new_bytes > max_bytes_) {
      result = status{status_code::resource_exhausted, "the state store is full"};
    } else {
      erase_locked(service, key);
      if (image.state.version != 0)
        put_locked(service, key, image.state.version, std::move(image.state.bytes));
      if (j != journals_.end()) {
        for (const auto& [seq, bytes] : j->second)
          bytes_used_ -= event_footprint(service, key, bytes.size());
        journals_.erase(j);
      }
      if (!image.events.empty()) {
        auto& events =
          journals_.emplace(slot{std::string{service}, std::string{key}}, journal{}).first->second;
        auto seq = image.first_seq;
        for (auto& e : image.events) {
          bytes_used_ += event_footprint(service, key, e.size());
          events.emplace(seq++, std::move(e));
        }
      }
    }
  }
  done(std::move(result));
}

} // namespace troupe::runtime
