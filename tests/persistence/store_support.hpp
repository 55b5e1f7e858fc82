// Helpers for the state store's tests: temporary directories under /tmp and
// waiting, bounded, for the store's callbacks.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "persistence/src/store_impl.hpp"
#include "troupe/persistence/rocksdb_store.hpp"

namespace troupe::persistence::testing {

/// How long a test waits for one callback before it fails.
inline constexpr std::chrono::seconds callback_limit{30};

/// A fresh directory under /tmp, removed with everything in it at the end.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "troupe-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const {
    return path_;
  }
  std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

private:
  std::filesystem::path path_;
};

/// A pending write's outcome.
class write_result {
public:
  runtime::state_store::write_callback callback() {
    auto p = promise_;
    return [p](status st) { p->set_value(std::move(st)); };
  }
  bool ready() const {
    return future_.wait_for(std::chrono::seconds{0}) == std::future_status::ready;
  }
  status get() {
    REQUIRE(future_.wait_for(callback_limit) == std::future_status::ready);
    return future_.get();
  }

private:
  std::shared_ptr<std::promise<status>> promise_ = std::make_shared<std::promise<status>>();
  std::future<status> future_ = promise_->get_future();
};

inline status save(runtime::state_store& store, std::string_view service, std::string_view key,
                   std::uint64_t replaces, std::string bytes) {
  write_result r;
  store.save(service, key, replaces, std::move(bytes), r.callback());
  return r.get();
}

inline status erase(runtime::state_store& store, std::string_view service, std::string_view key) {
  write_result r;
  store.erase(service, key, r.callback());
  return r.get();
}

inline runtime::stored_state load(runtime::state_store& store, std::string_view service,
                                  std::string_view key) {
  auto p = std::make_shared<std::promise<std::pair<status, runtime::stored_state>>>();
  auto f = p->get_future();
  store.load(service, key, [p](status st, runtime::stored_state s) {
    p->set_value({std::move(st), std::move(s)});
  });
  REQUIRE(f.wait_for(callback_limit) == std::future_status::ready);
  auto [st, state] = f.get();
  INFO(st.message());
  REQUIRE(st.is_ok());
  return state;
}

// For threads a test starts: Catch's assertions are for the test's own
// thread only, so these report a timeout as a status instead.

inline status save_quietly(runtime::state_store& store, std::string_view service,
                           std::string_view key, std::uint64_t replaces, std::string bytes) {
  auto p = std::make_shared<std::promise<status>>();
  auto f = p->get_future();
  store.save(service, key, replaces, std::move(bytes), [p](status st) { p->set_value(st); });
  if (f.wait_for(callback_limit) != std::future_status::ready)
    return {status_code::deadline_exceeded, "no answer from the store"};
  return f.get();
}

inline std::pair<status, runtime::stored_state> load_quietly(runtime::state_store& store,
                                                             std::string_view service,
                                                             std::string_view key) {
  auto p = std::make_shared<std::promise<std::pair<status, runtime::stored_state>>>();
  auto f = p->get_future();
  store.load(service, key, [p](status st, runtime::stored_state s) {
    p->set_value({std::move(st), std::move(s)});
  });
  if (f.wait_for(callback_limit) != std::future_status::ready)
    return {status{status_code::deadline_exceeded, "no answer from the store"}, {}};
  return f.get();
}

inline runtime::namespace_options sync_namespace() {
  return {};
}

inline runtime::namespace_options batched_namespace(std::chrono::milliseconds interval) {
  runtime::namespace_options o;
  o.mode = runtime::namespace_options::durability::batched;
  o.batch_interval = interval;
  return o;
}

/// Polls `condition` every few milliseconds until it holds or `limit` passes.
template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = std::chrono::seconds{20}) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return true;
}

/// Flushes every memtable of an open store into table files.
inline void flush_all(rocksdb_store::impl& store) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  auto families = store.db->families();
  auto access = store.db->use();
  REQUIRE(access);
  for (auto* f : families)
    handles.push_back(f->handle);
  REQUIRE(access->Flush(rocksdb::FlushOptions{}, handles).ok());
}

/// The message of the storage_error that opening `dir` throws; empty when
/// it opens.
inline std::string open_error(const std::filesystem::path& dir, store_options options = {}) {
  try {
    rocksdb_store store{dir, std::move(options)};
  } catch (const storage_error& e) {
    return e.what();
  }
  return {};
}

} // namespace troupe::persistence::testing
