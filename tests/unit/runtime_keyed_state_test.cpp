// Declared state of keyed actors, in-process, against a state store the test
// holds back or fails on purpose: calls wait while a key's state loads, an
// answer waits until its change is stored, a failing handler leaves the
// stored state as it was, and a write the store refuses starts the key over
// from what is stored. Uses tests/modules/ledger.proto (test.ledger.v1.Ledger).
#include <catch2/catch.hpp>

#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "support/temp_dir.hpp"
#include "troupe/runtime/memory_state_store.hpp"
#include "troupe/runtime/node.hpp"

using namespace std::chrono_literals;
using troupe::status;
using troupe::status_code;
using troupe::runtime::envelope;
using troupe::runtime::memory_state_store;
using troupe::runtime::namespace_options;
using troupe::runtime::node;
using troupe::runtime::node_config;
using troupe::runtime::reply_envelope;
using troupe::runtime::state_store;
using troupe::runtime::stored_state;
using troupe::test::temp_dir;

namespace {

constexpr const char* ledger = "test.ledger.v1.Ledger";

/// A new message of `type`, which the loaded module registered. (The test
/// cannot compile ledger.proto itself: protobuf refuses a file registered
/// twice in one process.)
std::unique_ptr<google::protobuf::Message> new_message(const std::string& type) {
  const auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  REQUIRE(desc != nullptr);
  return std::unique_ptr<google::protobuf::Message>{
    google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc)->New()};
}

std::int64_t int64_field(const google::protobuf::Message& m, const char* name) {
  return m.GetReflection()->GetInt64(m, m.GetDescriptor()->FindFieldByName(name));
}

/// A serialized LedgerState with `balance`.
std::string ledger_state(std::int64_t balance) {
  auto state = new_message("test.ledger.v1.LedgerState");
  state->GetReflection()->SetInt64(state.get(), state->GetDescriptor()->FindFieldByName("balance"),
                                   balance);
  return state->SerializeAsString();
}

/// The memory store, but loads and saves can be held until the test lets
/// them through, and the next save can be made to fail.
class gated_store final : public state_store {
public:
  status open_namespace(std::string_view service, const namespace_options& options) override {
    return inner_.open_namespace(service, options);
  }

  void load(std::string_view service, std::string_view key, load_callback done) override {
    run_or_hold(hold_loads_, [this, service = std::string{service}, key = std::string{key},
                              done = std::move(done)]() mutable {
      inner_.load(service, key, std::move(done));
    });
  }

  void save(std::string_view service, std::string_view key, std::uint64_t replaces,
            std::string bytes, write_callback done) override {
    {
      std::lock_guard guard{mtx_};
      ++saves_;
      if (fail_next_save_) {
        auto failure = *std::exchange(fail_next_save_, std::nullopt);
        done(failure);
        return;
      }
    }
    run_or_hold(hold_saves_, [this, service = std::string{service}, key = std::string{key},
                              replaces, bytes = std::move(bytes), done = std::move(done)]() mutable {
      inner_.save(service, key, replaces, std::move(bytes), std::move(done));
    });
  }

  void erase(std::string_view service, std::string_view key, write_callback done) override {
    inner_.erase(service, key, std::move(done));
  }

  void hold_loads(bool hold) {
    std::lock_guard guard{mtx_};
    hold_loads_ = hold;
  }
  void hold_saves(bool hold) {
    std::lock_guard guard{mtx_};
    hold_saves_ = hold;
  }
  void fail_next_save(status failure) {
    std::lock_guard guard{mtx_};
    fail_next_save_ = std::move(failure);
  }

  std::size_t held() const {
    std::lock_guard guard{mtx_};
    return held_.size();
  }
  std::size_t saves() const {
    std::lock_guard guard{mtx_};
    return saves_;
  }

  /// Lets everything held through, in the order it came.
  void release() {
    std::deque<std::function<void()>> run;
    {
      std::lock_guard guard{mtx_};
      run.swap(held_);
    }
    for (auto& f : run)
      f();
  }

  /// The store itself, for reading and writing behind the actors' backs.
  memory_state_store& inner() noexcept {
    return inner_;
  }

private:
  void run_or_hold(const bool& hold, std::function<void()> f) {
    {
      std::lock_guard guard{mtx_};
      if (hold) {
        held_.push_back(std::move(f));
        return;
      }
    }
    f();
  }

  memory_state_store inner_;
  mutable std::mutex mtx_;
  bool hold_loads_ = false;
  bool hold_saves_ = false;
  std::optional<status> fail_next_save_;
  std::deque<std::function<void()>> held_;
  std::size_t saves_ = 0;
};

/// A node with the ledger module on `store`.
struct ledger_node {
  explicit ledger_node(std::shared_ptr<gated_store> s) : store(std::move(s)) {
    node_config cfg;
    cfg.data_dir = dir.path();
    cfg.modules = {std::string{TROUPE_TEST_MODULES_DIR} + "/libledger.so"};
    cfg.scheduler_threads = 2;
    n.emplace(cfg, [store = store](troupe::runtime::logger&) { return store; });
    n->start();
  }

  temp_dir dir;
  std::shared_ptr<gated_store> store;
  std::optional<node> n;
};

/// Calls `method` of `key`'s ledger; `done` gets the answer, on whichever
/// thread delivers it.
void call_then(node& n, const std::string& method, const std::string& key, std::int64_t amount,
               std::function<void(reply_envelope)> done) {
  auto entry = new_message("test.ledger.v1.Entry");
  const auto* type = entry->GetDescriptor();
  entry->GetReflection()->SetString(entry.get(), type->FindFieldByName("key"), key);
  entry->GetReflection()->SetInt64(entry.get(), type->FindFieldByName("amount"), amount);
  envelope env;
  env.method = method;
  env.key = key;
  env.payload = entry->SerializeAsString();
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + 30s).time_since_epoch())
                           .count();
  n.call(ledger, std::move(env), std::move(done));
}

std::future<reply_envelope> call_async(node& n, const std::string& method,
                                       const std::string& key, std::int64_t amount = 0) {
  auto done = std::make_shared<std::promise<reply_envelope>>();
  auto result = done->get_future();
  call_then(n, method, key, amount, [done](reply_envelope r) { done->set_value(std::move(r)); });
  return result;
}

reply_envelope wait_for(std::future<reply_envelope>& f) {
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

reply_envelope call(node& n, const std::string& method, const std::string& key,
                    std::int64_t amount = 0) {
  auto f = call_async(n, method, key, amount);
  return wait_for(f);
}

/// The balance a successful reply carries.
std::int64_t balance_of(const reply_envelope& r) {
  INFO("code " << r.code << ": " << r.message);
  REQUIRE(r.code == 0);
  auto b = new_message("test.ledger.v1.Balance");
  REQUIRE(b->ParseFromString(r.payload));
  return int64_field(*b, "balance");
}

/// What the store holds for `key`.
stored_state stored(gated_store& store, const std::string& key) {
  stored_state result;
  store.inner().load(ledger, key, [&](status, stored_state s) { result = std::move(s); });
  return result;
}

std::int64_t stored_balance(gated_store& store, const std::string& key) {
  auto state = new_message("test.ledger.v1.LedgerState");
  REQUIRE(state->ParseFromString(stored(store, key).bytes));
  return int64_field(*state, "balance");
}

/// Polls `condition` (bounded: 10 s).
template <class Condition>
bool eventually(Condition condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

bool ready(std::future<reply_envelope>& f) {
  return f.wait_for(0s) == std::future_status::ready;
}

} // namespace

TEST_CASE("a key's calls wait while its state loads, then run in order on the stored state",
          "[runtime][state]") {
  auto store = std::make_shared<gated_store>();
  ledger_node ln{store};
  store->inner().save(ledger, "k", 0, ledger_state(10), [](status) {});

  store->hold_loads(true);
  auto first = call_async(*ln.n, "Post", "k", 1);
  auto second = call_async(*ln.n, "Post", "k", 2);
  auto third = call_async(*ln.n, "Get", "k");
  REQUIRE(eventually([&] { return store->held() == 1; }));  // one read for the key
  CHECK_FALSE(ready(first));
  CHECK_FALSE(ready(second));
  CHECK_FALSE(ready(third));
  store->hold_loads(false);
  store->release();
  CHECK(balance_of(wait_for(first)) == 11);
  CHECK(balance_of(wait_for(second)) == 13);
  CHECK(balance_of(wait_for(third)) == 13);
  CHECK(stored(*store, "k").version == 3);
}

TEST_CASE("an answer that follows a change waits until the change is stored",
          "[runtime][state]") {
  auto store = std::make_shared<gated_store>();
  ledger_node ln{store};
  REQUIRE(balance_of(call(*ln.n, "Post", "k", 5)) == 5);

  store->hold_saves(true);
  auto post = call_async(*ln.n, "Post", "k", 2);
  REQUIRE(eventually([&] { return store->held() == 1; }));
  // Neither the answer nor a read that came after it may get ahead of the
  // store.
  auto get = call_async(*ln.n, "Get", "k");
  CHECK_FALSE(ready(post));
  CHECK_FALSE(ready(get));
  CHECK(stored_balance(*store, "k") == 5);
  store->hold_saves(false);
  store->release();
  CHECK(balance_of(wait_for(post)) == 7);
  CHECK(balance_of(wait_for(get)) == 7);
  CHECK(stored_balance(*store, "k") == 7);

  SECTION("an answer that changed nothing is not held") {
    auto saves = store->saves();
    CHECK(balance_of(call(*ln.n, "Get", "k")) == 7);
    CHECK(store->saves() == saves);
  }
}

TEST_CASE("an answer that waited for a write goes out from the write's completion",
          "[runtime][state]") {
  // The thread that finished the write answers the caller itself, without a
  // hop through the host (answers_after_write.hpp). The caller's next call
  // may reach the key before the host learns of the write: it waits for it.
  auto store = std::make_shared<gated_store>();
  ledger_node ln{store};
  REQUIRE(balance_of(call(*ln.n, "Post", "k", 5)) == 5);

  store->hold_saves(true);
  using answer = std::pair<reply_envelope, std::thread::id>;
  auto done = std::make_shared<std::promise<answer>>();
  auto answered = done->get_future();
  call_then(*ln.n, "Post", "k", 2, [done](reply_envelope r) {
    done->set_value({std::move(r), std::this_thread::get_id()});
  });
  REQUIRE(eventually([&] { return store->held() == 1; }));
  std::thread::id writer_id;
  std::thread writer{[&] {
    writer_id = std::this_thread::get_id();
    store->hold_saves(false);
    store->release();
  }};
  writer.join();
  REQUIRE(answered.wait_for(20s) == std::future_status::ready);
  auto [reply, answered_on] = answered.get();
  CHECK(balance_of(reply) == 7);
  CHECK(answered_on == writer_id);
  CHECK(balance_of(call(*ln.n, "Post", "k", 1)) == 8);
  CHECK(stored_balance(*store, "k") == 8);
}

TEST_CASE("a handler that refuses or throws leaves the stored state as it was",
          "[runtime][state]") {
  auto store = std::make_shared<gated_store>();
  ledger_node ln{store};
  REQUIRE(balance_of(call(*ln.n, "Post", "k", 5)) == 5);
  auto saves = store->saves();

  auto refused = call(*ln.n, "PostThenRefuse", "k", 100);
  CHECK(refused.code == static_cast<int>(status_code::failed_precondition));
  CHECK(balance_of(call(*ln.n, "Get", "k")) == 5);

  auto thrown = call(*ln.n, "PostThenThrow", "k", 100);
  CHECK(thrown.code == static_cast<int>(status_code::internal));
  // The restarted object loads what is stored.
  REQUIRE(eventually([&] { return call(*ln.n, "Get", "k").code == 0; }));
  CHECK(balance_of(call(*ln.n, "Get", "k")) == 5);

  CHECK(store->saves() == saves);
  CHECK(stored(*store, "k").version == 1);
  CHECK(balance_of(call(*ln.n, "Post", "k", 1)) == 6);
}

TEST_CASE("a write the store fails answers 503 and the key starts over from what is stored",
          "[runtime][state]") {
  auto store = std::make_shared<gated_store>();
  ledger_node ln{store};
  REQUIRE(balance_of(call(*ln.n, "Post", "k", 5)) == 5);

  store->fail_next_save(status{status_code::unavailable, "the disk is full"});
  auto failed = call(*ln.n, "Post", "k", 1);
  CHECK(failed.code == static_cast<int>(status_code::unavailable));
  CHECK(failed.retry_after_ms > 0);
  CHECK(balance_of(call(*ln.n, "Get", "k")) == 5);
  CHECK(balance_of(call(*ln.n, "Post", "k", 1)) == 6);
  CHECK(stored_balance(*store, "k") == 6);
}

TEST_CASE("a write refused because another writer stored a newer version reloads the key",
          "[runtime][state]") {
  auto store = std::make_shared<gated_store>();
  ledger_node ln{store};
  REQUIRE(balance_of(call(*ln.n, "Post", "k", 5)) == 5);

  // Another writer (a second activation elsewhere, after a failover) stores
  // version 2 behind this activation's back.
  bool written = false;
  store->inner().save(ledger, "k", 1, ledger_state(100),
                      [&](status st) { written = st.is_ok(); });
  REQUIRE(written);

  auto refused = call(*ln.n, "Post", "k", 1);
  CHECK(refused.code == static_cast<int>(status_code::unavailable));
  // Nothing of this activation's overwrote theirs; the key now serves it.
  CHECK(stored_balance(*store, "k") == 100);
  CHECK(balance_of(call(*ln.n, "Get", "k")) == 100);
  CHECK(balance_of(call(*ln.n, "Post", "k", 1)) == 101);
}

TEST_CASE("a stored state that does not parse quarantines its key, not the service",
          "[runtime][state]") {
  auto store = std::make_shared<gated_store>();
  ledger_node ln{store};
  store->inner().save(ledger, "broken", 0, "\xff\xff\xff", [](status) {});
  auto r = call(*ln.n, "Get", "broken");
  CHECK(r.code == static_cast<int>(status_code::unavailable));
  CHECK(balance_of(call(*ln.n, "Post", "fine", 3)) == 3);
  CHECK(stored(*store, "broken").bytes == "\xff\xff\xff");
}
