// Helpers for the tests of event journals and key-value storage, which run
// their contract against both stores: the memory store and the RocksDB store
// (in a fresh directory under /tmp). Every helper waits for its callback,
// bounded (store_support.hpp's callback_limit).
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "store_support.hpp"
#include "troupe/runtime/memory_state_store.hpp"

namespace troupe::persistence::testing {

/// A store of `kind`, "memory" or "rocksdb".
class any_store {
public:
  explicit any_store(const std::string& kind) {
    if (kind == "memory") {
      store_ = std::make_shared<runtime::memory_state_store>();
    } else {
      dir_ = std::make_unique<temp_dir>();
      store_ = std::make_shared<rocksdb_store>(dir_->path());
    }
  }

  runtime::state_store& operator*() const {
    return *store_;
  }
  runtime::state_store* operator->() const {
    return store_.get();
  }

private:
  std::unique_ptr<temp_dir> dir_;  // outlives the store
  std::shared_ptr<runtime::state_store> store_;
};

inline runtime::namespace_options journal_namespace() {
  runtime::namespace_options o;
  o.journal = true;
  return o;
}

/// Waits for a callback's (status, T).
template <class T>
std::pair<status, T> wait_for_answer(std::future<std::pair<status, T>>& f) {
  REQUIRE(f.wait_for(callback_limit) == std::future_status::ready);
  return f.get();
}

inline status append(runtime::state_store& store, std::string_view service, std::string_view key,
                     std::uint64_t first_seq, std::vector<std::string> events,
                     std::optional<std::string> snapshot = std::nullopt, bool truncate = false) {
  runtime::journal_append a;
  a.first_seq = first_seq;
  a.events = std::move(events);
  a.snapshot = std::move(snapshot);
  a.truncate = truncate;
  write_result r;
  store.append(service, key, std::move(a), r.callback());
  return r.get();
}

inline std::pair<status, runtime::journal_page>
try_read_events(runtime::state_store& store, std::string_view service, std::string_view key,
                std::uint64_t from_seq, std::size_t limit = 1000) {
  auto p = std::make_shared<std::promise<std::pair<status, runtime::journal_page>>>();
  auto f = p->get_future();
  store.read_events(service, key, from_seq, limit, [p](status st, runtime::journal_page page) {
    p->set_value({std::move(st), std::move(page)});
  });
  return wait_for_answer(f);
}

inline runtime::journal_page read_events(runtime::state_store& store, std::string_view service,
                                         std::string_view key, std::uint64_t from_seq,
                                         std::size_t limit = 1000) {
  auto [st, page] = try_read_events(store, service, key, from_seq, limit);
  INFO(st.message());
  REQUIRE(st.is_ok());
  return page;
}

/// The numbers of `page`'s events.
inline std::vector<std::uint64_t> seqs(const runtime::journal_page& page) {
  std::vector<std::uint64_t> out;
  for (const auto& e : page.events)
    out.push_back(e.seq);
  return out;
}

inline runtime::kv_range scan(runtime::state_store& store, std::string_view service,
                              std::string_view prefix, std::string_view after = {},
                              std::size_t limit = 1000) {
  auto p = std::make_shared<std::promise<std::pair<status, runtime::kv_range>>>();
  auto f = p->get_future();
  store.scan(service, prefix, after, limit, [p](status st, runtime::kv_range range) {
    p->set_value({std::move(st), std::move(range)});
  });
  auto [st, range] = wait_for_answer(f);
  INFO(st.message());
  REQUIRE(st.is_ok());
  return range;
}

/// The keys of `range`.
inline std::vector<std::string> keys(const runtime::kv_range& range) {
  std::vector<std::string> out;
  for (const auto& r : range.records)
    out.push_back(r.key);
  return out;
}

inline status write_batch(runtime::state_store& store, std::string_view service,
                          std::vector<runtime::kv_mutation> batch) {
  write_result r;
  store.write_batch(service, std::move(batch), r.callback());
  return r.get();
}

inline runtime::kv_mutation put(std::string key, std::string value,
                                std::optional<std::uint64_t> expected = std::nullopt) {
  return {runtime::kv_mutation::kind::put, std::move(key), std::move(value), expected};
}

inline runtime::kv_mutation erase_key(std::string key,
                                      std::optional<std::uint64_t> expected = std::nullopt) {
  return {runtime::kv_mutation::kind::erase, std::move(key), {}, expected};
}

} // namespace troupe::persistence::testing
