// What a cluster's handover uses to move a key between nodes, in both state
// stores (memory and RocksDB): list_keys() lists keys with a state and keys
// with only a journal, and import_key() replaces everything stored of a key
// with an image, keeping versions and event numbers, so that the key's next
// save or append at its new holder goes on where the old holder stopped.
#include <catch2/catch.hpp>

#include "journal_kv_support.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status;
using troupe::status_code;

namespace {

status import_key(troupe::runtime::state_store& store, std::string_view service,
                  std::string_view key, troupe::runtime::key_image image) {
  write_result r;
  store.import_key(service, key, std::move(image), r.callback());
  return r.get();
}

std::pair<status, std::vector<std::string>> list_page(troupe::runtime::state_store& store,
                                                      std::string_view service,
                                                      std::string_view after, std::size_t limit,
                                                      bool& more) {
  auto p = std::make_shared<std::promise<std::pair<status, std::vector<std::string>>>>();
  auto f = p->get_future();
  auto flag = std::make_shared<bool>(false);
  store.list_keys(service, after, limit,
                  [p, flag](status st, std::vector<std::string> keys, bool m) {
                    *flag = m;
                    p->set_value({std::move(st), std::move(keys)});
                  });
  auto answer = wait_for_answer(f);
  more = *flag;
  return answer;
}

/// Every key of `service`, listed `limit` at a time.
std::vector<std::string> all_keys(troupe::runtime::state_store& store, std::string_view service,
                                  std::size_t limit) {
  std::vector<std::string> out;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    bool more = false;
    auto [st, keys] = list_page(store, service, after, limit, more);
    REQUIRE(st.is_ok());
    out.insert(out.end(), keys.begin(), keys.end());
    if (!more)
      return out;
    REQUIRE_FALSE(keys.empty());
    after = keys.back();
  }
  FAIL("more than 100 pages");
  return out;
}

} // namespace

TEST_CASE("list_keys lists keys with a state and keys with only a journal, in order, page by "
          "page",
          "[persistence][handover]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", journal_namespace()).is_ok());
  REQUIRE(store->open_namespace("other", journal_namespace()).is_ok());
  // a: snapshot and events; b: events only; c: a state saved; d: events only.
  REQUIRE(append(*store, "svc", "a", 1, {"e1", "e2"}, std::string{"snap"}).is_ok());
  REQUIRE(append(*store, "svc", "b", 1, {"e1"}).is_ok());
  REQUIRE(save(*store, "svc", "c", 0, "state").is_ok());
  REQUIRE(append(*store, "svc", "d", 1, {"e1"}).is_ok());
  REQUIRE(append(*store, "svc", "d2", 1, {"e1"}).is_ok());
  REQUIRE(append(*store, "other", "x", 1, {"e1"}).is_ok());

  std::vector<std::string> expected{"a", "b", "c", "d", "d2"};
  for (std::size_t limit : {1, 2, 3, 10}) {
    INFO("pages of " << limit);
    CHECK(all_keys(*store, "svc", limit) == expected);
  }
  CHECK(all_keys(*store, "other", 10) == std::vector<std::string>{"x"});
  bool more = true;
  auto [st, keys] = list_page(*store, "svc", "c", 10, more);
  CHECK(st.is_ok());
  CHECK(keys == std::vector<std::string>{"d", "d2"});
  CHECK_FALSE(more);
}

TEST_CASE("an imported key is the image as it was: its state's version and its events' numbers, "
          "and its next append goes on from them",
          "[persistence][handover]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", journal_namespace()).is_ok());
  // What an earlier holder of the key left here is replaced, not merged.
  REQUIRE(append(*store, "svc", "k", 1, {"old1", "old2", "old3", "old4", "old5", "old6"},
                 std::string{"old snapshot"})
            .is_ok());

  troupe::runtime::key_image image;
  image.state = {7, "snapshot at 7"};
  image.first_seq = 7;  // a truncated journal keeps the snapshot's own event
  image.events = {"e7", "e8", "e9"};
  REQUIRE(import_key(*store, "svc", "k", image).is_ok());

  auto stored = load(*store, "svc", "k");
  CHECK(stored.version == 7);
  CHECK(stored.bytes == "snapshot at 7");
  auto page = read_events(*store, "svc", "k", 1);
  CHECK(seqs(page) == std::vector<std::uint64_t>{7, 8, 9});
  CHECK(page.events.at(0).bytes == "e7");
  // The key goes on from event 9: 10 is next, anything else is refused.
  CHECK(append(*store, "svc", "k", 7, {"late"}).code() == status_code::aborted);
  CHECK(append(*store, "svc", "k", 10, {"e10"}, std::string{"snapshot at 10"}).is_ok());
  CHECK(load(*store, "svc", "k").version == 10);

  SECTION("an image without a journal replaces a journal with nothing") {
    troupe::runtime::key_image plain;
    plain.state = {3, "state 3"};
    REQUIRE(import_key(*store, "svc", "k", plain).is_ok());
    CHECK(load(*store, "svc", "k").version == 3);
    CHECK(read_events(*store, "svc", "k", 1).events.empty());
  }
  SECTION("an empty image removes the key") {
    REQUIRE(import_key(*store, "svc", "k", {}).is_ok());
    CHECK(load(*store, "svc", "k").version == 0);
    CHECK(read_events(*store, "svc", "k", 1).events.empty());
    CHECK(all_keys(*store, "svc", 10).empty());
  }
}

TEST_CASE("a key's state imported into a namespace without journals keeps its version, and the "
          "next save replaces that version",
          "[persistence][handover]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "rocksdb");
  INFO(kind << " store");
  any_store store{kind};
  REQUIRE(store->open_namespace("svc", {}).is_ok());
  REQUIRE(save(*store, "svc", "k", 0, "first").is_ok());
  troupe::runtime::key_image image;
  image.state = {41, "from the old holder"};
  REQUIRE(import_key(*store, "svc", "k", image).is_ok());
  CHECK(load(*store, "svc", "k").version == 41);
  CHECK(save(*store, "svc", "k", 1, "stale writer").code() == status_code::aborted);
  CHECK(save(*store, "svc", "k", 41, "next").is_ok());
  CHECK(load(*store, "svc", "k").bytes == "next");
  if (kind == "rocksdb") {
    troupe::runtime::key_image with_events;
    with_events.events = {"e1"};
    CHECK(import_key(*store, "svc", "k", with_events).code() == status_code::failed_precondition);
  }
}
