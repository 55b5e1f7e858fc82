// Journaled keyed state, in-process, against a state store the test holds
// back: a call that emitted events is answered only once they are appended
// (and calls of the key behind it wait), and an activation replays the
// events after the stored snapshot before its first call. Uses
// tests/modules/tally.proto (test.tally.v1.Tallies, snapshot every 5).
#include <catch2/catch.hpp>

#include <deque>
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
using troupe::runtime::envelope;
using troupe::runtime::journal_append;
using troupe::runtime::journal_page;
using troupe::runtime::memory_state_store;
using troupe::runtime::namespace_options;
using troupe::runtime::node;
using troupe::runtime::node_config;
using troupe::runtime::reply_envelope;
using troupe::runtime::state_store;
using troupe::test::temp_dir;

namespace {

constexpr const char* tallies = "test.tally.v1.Tallies";

std::unique_ptr<google::protobuf::Message> new_message(const std::string& type) {
  const auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  REQUIRE(desc != nullptr);
  return std::unique_ptr<google::protobuf::Message>{
    google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc)->New()};
}

/// The memory store, but appends can be held until the test lets them
/// through.
class held_journal_store final : public state_store {
public:
  status open_namespace(std::string_view service, const namespace_options& options) override {
    return inner_.open_namespace(service, options);
  }
  void load(std::string_view service, std::string_view key, load_callback done) override {
    inner_.load(service, key, std::move(done));
  }
  void save(std::string_view service, std::string_view key, std::uint64_t replaces,
            std::string bytes, write_callback done) override {
    inner_.save(service, key, replaces, std::move(bytes), std::move(done));
  }
  void erase(std::string_view service, std::string_view key, write_callback done) override {
    inner_.erase(service, key, std::move(done));
  }
  void append(std::string_view service, std::string_view key, journal_append append,
              write_callback done) override {
    std::function<void()> write = [this, service = std::string{service}, key = std::string{key},
                                   append = std::move(append), done = std::move(done)]() mutable {
      inner_.append(service, key, std::move(append), std::move(done));
    };
    {
      std::lock_guard guard{mtx_};
      if (hold_) {
        held_.push_back(std::move(write));
        return;
      }
    }
    write();
  }
  void read_events(std::string_view service, std::string_view key, std::uint64_t from_seq,
                   std::size_t limit, events_callback done) override {
    inner_.read_events(service, key, from_seq, limit, std::move(done));
  }

  void hold_appends() {
    std::lock_guard guard{mtx_};
    hold_ = true;
  }
  std::size_t held() const {
    std::lock_guard guard{mtx_};
    return held_.size();
  }
  void release() {
    std::deque<std::function<void()>> run;
    {
      std::lock_guard guard{mtx_};
      hold_ = false;
      run.swap(held_);
    }
    for (auto& f : run)
      f();
  }
  memory_state_store& inner() noexcept {
    return inner_;
  }

private:
  memory_state_store inner_;
  mutable std::mutex mtx_;
  bool hold_ = false;
  std::deque<std::function<void()>> held_;
};

class release_at_exit {
public:
  explicit release_at_exit(held_journal_store& store) : store_(store) {
  }
  ~release_at_exit() {
    store_.release();
  }
  release_at_exit(const release_at_exit&) = delete;
  release_at_exit& operator=(const release_at_exit&) = delete;

private:
  held_journal_store& store_;
};

struct tally_node {
  explicit tally_node(std::shared_ptr<held_journal_store> s) : store(std::move(s)) {
    node_config cfg;
    cfg.data_dir = dir.path();
    cfg.modules = {std::string{TROUPE_TEST_MODULES_DIR} + "/libtally.so"};
    cfg.scheduler_threads = 2;
    n.emplace(cfg, [store = store](troupe::runtime::logger&) { return store; });
    n->start();
  }

  temp_dir dir;
  std::shared_ptr<held_journal_store> store;
  std::optional<node> n;
};

std::future<reply_envelope> call_async(node& n, const std::string& method,
                                       const std::string& key, std::int64_t amount = 0,
                                       int times = 1) {
  auto request = new_message(method == "Get" ? "test.tally.v1.GetRequest"
                                             : "test.tally.v1.AddRequest");
  const auto* type = request->GetDescriptor();
  const auto* r = request->GetReflection();
  r->SetString(request.get(), type->FindFieldByName("key"), key);
  if (method != "Get") {
    r->SetInt64(request.get(), type->FindFieldByName("amount"), amount);
    r->SetInt32(request.get(), type->FindFieldByName("times"), times);
  }
  envelope env;
  env.method = method;
  env.key = key;
  env.payload = request->SerializeAsString();
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + 30s).time_since_epoch())
                           .count();
  auto done = std::make_shared<std::promise<reply_envelope>>();
  auto result = done->get_future();
  n.call(tallies, std::move(env), [done](reply_envelope r) { done->set_value(std::move(r)); });
  return result;
}

reply_envelope wait_for(std::future<reply_envelope>& f) {
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

bool ready(std::future<reply_envelope>& f) {
  return f.wait_for(0s) == std::future_status::ready;
}

template <class Condition>
bool eventually(Condition condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

struct tally {
  std::int64_t total = 0;
  std::int32_t events = 0;
  std::int32_t applied = 0;
};

tally tally_of(const reply_envelope& reply) {
  INFO("code " << reply.code << ": " << reply.message);
  REQUIRE(reply.code == 0);
  auto t = new_message("test.tally.v1.Tally");
  REQUIRE(t->ParseFromString(reply.payload));
  const auto* type = t->GetDescriptor();
  const auto* r = t->GetReflection();
  return {r->GetInt64(*t, type->FindFieldByName("total")),
          r->GetInt32(*t, type->FindFieldByName("events")),
          r->GetInt32(*t, type->FindFieldByName("applied"))};
}

journal_page stored_events(held_journal_store& store, const std::string& key) {
  journal_page result;
  store.inner().read_events(tallies, key, 1, 1000,
                            [&](status, journal_page p) { result = std::move(p); });
  return result;
}

/// A serialized event or state of the tally module.
std::string counted(std::int64_t amount) {
  auto e = new_message("test.tally.v1.Counted");
  e->GetReflection()->SetInt64(e.get(), e->GetDescriptor()->FindFieldByName("amount"), amount);
  return e->SerializeAsString();
}
std::string tally_state(std::int64_t total, std::int32_t events) {
  auto s = new_message("test.tally.v1.TallyState");
  const auto* type = s->GetDescriptor();
  s->GetReflection()->SetInt64(s.get(), type->FindFieldByName("total"), total);
  s->GetReflection()->SetInt32(s.get(), type->FindFieldByName("events"), events);
  return s->SerializeAsString();
}

} // namespace

TEST_CASE("a call that emitted events is answered once they are appended, and the key's next "
          "calls wait behind it",
          "[runtime][journal]") {
  auto store = std::make_shared<held_journal_store>();
  tally_node tn{store};
  release_at_exit release{*store};
  auto warm_up = call_async(*tn.n, "Add", "k", 1, 2);
  REQUIRE(tally_of(wait_for(warm_up)).total == 2);

  store->hold_appends();
  auto add = call_async(*tn.n, "Add", "k", 10, 3);
  REQUIRE(eventually([&] { return store->held() == 1; }));
  auto get = call_async(*tn.n, "Get", "k");
  CHECK_FALSE(ready(add));
  CHECK_FALSE(ready(get));
  CHECK(stored_events(*store, "k").events.size() == 2);
  store->release();
  CHECK(tally_of(wait_for(add)).total == 32);
  CHECK(tally_of(wait_for(get)).total == 32);
  auto page = stored_events(*store, "k");
  REQUIRE(page.events.size() == 5);
  CHECK(page.events[4].seq == 5);
  CHECK(page.events[4].bytes == counted(10));
}

TEST_CASE("an activation replays only the events after the stored snapshot", "[runtime][journal]") {
  auto store = std::make_shared<held_journal_store>();
  tally_node tn{store};
  // Written behind the actors' backs: a snapshot at 5 (whose total says it
  // is the snapshot, not the events before it) and events 6 and 7.
  journal_append first;
  first.first_seq = 1;
  for (int i = 0; i < 5; ++i)
    first.events.push_back(counted(1));
  first.snapshot = tally_state(1000, 5);
  status written{troupe::status_code::unknown, "not yet"};
  store->inner().append(tallies, "s", std::move(first), [&](status st) { written = st; });
  REQUIRE(written.is_ok());
  journal_append more;
  more.first_seq = 6;
  more.events = {counted(20), counted(300)};
  store->inner().append(tallies, "s", std::move(more), [&](status st) { written = st; });
  REQUIRE(written.is_ok());

  auto get = call_async(*tn.n, "Get", "s");
  auto t = tally_of(wait_for(get));
  CHECK(t.total == 1320);
  CHECK(t.events == 7);
  CHECK(t.applied == 2);
}
