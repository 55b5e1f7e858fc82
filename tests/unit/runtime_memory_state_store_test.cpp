// The in-memory state store: versions that refuse a second writer, one
// namespace per service, and its byte bound.
#include <catch2/catch.hpp>

#include "troupe/runtime/memory_state_store.hpp"

using troupe::status;
using troupe::status_code;
using troupe::runtime::memory_state_store;
using troupe::runtime::stored_state;

namespace {

stored_state load(memory_state_store& store, std::string_view service, std::string_view key) {
  stored_state result;
  bool called = false;
  store.load(service, key, [&](status st, stored_state s) {
    REQUIRE(st.is_ok());
    result = std::move(s);
    called = true;
  });
  REQUIRE(called);  // the memory store answers at once
  return result;
}

status save(memory_state_store& store, std::string_view service, std::string_view key,
            std::uint64_t replaces, std::string bytes) {
  status result{status_code::unknown, "not called"};
  store.save(service, key, replaces, std::move(bytes), [&](status st) { result = st; });
  return result;
}

} // namespace

TEST_CASE("the memory state store versions every write and refuses a stale writer",
          "[runtime][state]") {
  memory_state_store store;
  CHECK(load(store, "svc", "k").version == 0);

  REQUIRE(save(store, "svc", "k", 0, "one").is_ok());
  auto first = load(store, "svc", "k");
  CHECK(first.version == 1);
  CHECK(first.bytes == "one");

  REQUIRE(save(store, "svc", "k", 1, "two").is_ok());
  // A writer that still believes version 1 is stored (a second activation)
  // is refused, and the stored state stays as it was.
  auto stale = save(store, "svc", "k", 1, "stale");
  CHECK(stale.code() == status_code::aborted);
  auto second = load(store, "svc", "k");
  CHECK(second.version == 2);
  CHECK(second.bytes == "two");

  SECTION("services are separate namespaces") {
    CHECK(load(store, "other", "k").version == 0);
    REQUIRE(save(store, "other", "k", 0, "mine").is_ok());
    CHECK(load(store, "svc", "k").bytes == "two");
  }
  SECTION("erase removes the state; the next write starts again at version 1") {
    bool erased = false;
    store.erase("svc", "k", [&](status st) { erased = st.is_ok(); });
    CHECK(erased);
    CHECK(load(store, "svc", "k").version == 0);
    CHECK(store.bytes_used() == 0);
    REQUIRE(save(store, "svc", "k", 0, "again").is_ok());
    CHECK(load(store, "svc", "k").version == 1);
  }
}

TEST_CASE("the memory state store refuses writes past its byte bound", "[runtime][state]") {
  // "svc" + "k" + 10 bytes = 14 per entry.
  memory_state_store store{30};
  REQUIRE(save(store, "svc", "a", 0, std::string(10, 'x')).is_ok());
  REQUIRE(save(store, "svc", "b", 0, std::string(10, 'x')).is_ok());
  CHECK(store.bytes_used() == 28);
  auto full = save(store, "svc", "c", 0, std::string(10, 'x'));
  CHECK(full.code() == status_code::resource_exhausted);
  CHECK(load(store, "svc", "c").version == 0);
  // Replacing a value by one of the same size fits; a larger one does not.
  CHECK(save(store, "svc", "a", 1, std::string(10, 'y')).is_ok());
  CHECK(save(store, "svc", "a", 2, std::string(13, 'y')).code()
        == status_code::resource_exhausted);
  CHECK(load(store, "svc", "a").bytes == std::string(10, 'y'));
  CHECK(store.bytes_used() == 28);
}

TEST_CASE("the memory state store counts keys and bytes per service and takes no checkpoint",
          "[runtime][state]") {
  memory_state_store store;
  REQUIRE(save(store, "svc", "a", 0, "12345").is_ok());
  REQUIRE(save(store, "svc", "b", 0, "1").is_ok());
  REQUIRE(save(store, "other", "a", 0, "xy").is_ok());

  auto svc = store.figures("svc");
  REQUIRE(svc);
  CHECK(svc->service == "svc");
  CHECK(svc->keys == 2);
  CHECK(svc->live_data_bytes == (3 + 1 + 5) + (3 + 1 + 1));
  CHECK(svc->sst_bytes == 0);
  CHECK(store.figures("other")->keys == 1);
  CHECK_FALSE(store.figures("none"));
  CHECK_FALSE(store.figures("sv"));  // a prefix of a service is another service

  auto all = store.figures();
  CHECK(all.engine == "memory");
  CHECK(all.directory.empty());
  CHECK(all.memory_bytes == store.bytes_used());

  status result{status_code::unknown, "not called"};
  store.checkpoint("/tmp/never", [&](status st) { result = st; });
  CHECK(result.code() == status_code::failed_precondition);
}
