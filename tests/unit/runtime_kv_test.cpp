// Key-value storage of a stateless service, in-process, against a state store
// the test holds back: while the store works on an operation the handler's
// actor goes on serving (its thread does not wait for the store), the answer
// comes when the store's does, and operations run in the service's own
// namespace. Uses tests/modules/notes.proto (test.notes.v1.Notes, Drafts).
#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "support/temp_dir.hpp"
#include "troupe/runtime/memory_state_store.hpp"
#include "troupe/runtime/node.hpp"

using namespace std::chrono_literals;
using troupe::status;
using troupe::runtime::envelope;
using troupe::runtime::kv_mutation;
using troupe::runtime::memory_state_store;
using troupe::runtime::namespace_options;
using troupe::runtime::node;
using troupe::runtime::node_config;
using troupe::runtime::reply_envelope;
using troupe::runtime::state_store;
using troupe::test::temp_dir;

namespace {

constexpr const char* notes = "test.notes.v1.Notes";
constexpr const char* drafts = "test.notes.v1.Drafts";

std::unique_ptr<google::protobuf::Message> new_message(const std::string& type) {
  const auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  REQUIRE(desc != nullptr);
  return std::unique_ptr<google::protobuf::Message>{
    google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc)->New()};
}

/// The memory store, but key-value writes can be held until the test lets
/// them through; records which namespaces the operations named.
class held_kv_store final : public state_store {
public:
  status open_namespace(std::string_view service, const namespace_options& options) override {
    return inner_.open_namespace(service, options);
  }
  void load(std::string_view service, std::string_view key, load_callback done) override {
    note(service);
    inner_.load(service, key, std::move(done));
  }
  void save(std::string_view service, std::string_view key, std::uint64_t replaces,
            std::string bytes, write_callback done) override {
    inner_.save(service, key, replaces, std::move(bytes), std::move(done));
  }
  void erase(std::string_view service, std::string_view key, write_callback done) override {
    inner_.erase(service, key, std::move(done));
  }
  void scan(std::string_view service, std::string_view prefix, std::string_view after,
            std::size_t limit, scan_callback done) override {
    note(service);
    inner_.scan(service, prefix, after, limit, std::move(done));
  }
  void write_batch(std::string_view service, std::vector<kv_mutation> batch,
                   write_callback done) override {
    note(service);
    std::function<void()> write = [this, service = std::string{service}, batch = std::move(batch),
                                   done = std::move(done)]() mutable {
      inner_.write_batch(service, std::move(batch), std::move(done));
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

  void hold_writes() {
    std::lock_guard guard{mtx_};
    hold_ = true;
  }
  std::size_t held() const {
    std::lock_guard guard{mtx_};
    return held_.size();
  }
  /// Lets the held writes through and holds no more.
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
  std::set<std::string> namespaces() const {
    std::lock_guard guard{mtx_};
    return named_;
  }

private:
  void note(std::string_view service) {
    std::lock_guard guard{mtx_};
    named_.emplace(service);
  }

  memory_state_store inner_;
  mutable std::mutex mtx_;
  bool hold_ = false;
  std::deque<std::function<void()>> held_;
  std::set<std::string> named_;
};

/// Lets a store's held writes through when the test ends, however it ends,
/// before the node stops.
class release_at_exit {
public:
  explicit release_at_exit(held_kv_store& store) : store_(store) {
  }
  ~release_at_exit() {
    store_.release();
  }
  release_at_exit(const release_at_exit&) = delete;
  release_at_exit& operator=(const release_at_exit&) = delete;

private:
  held_kv_store& store_;
};

struct notes_node {
  explicit notes_node(std::shared_ptr<held_kv_store> s) : store(std::move(s)) {
    node_config cfg;
    cfg.data_dir = dir.path();
    cfg.modules = {std::string{TROUPE_TEST_MODULES_DIR} + "/libnotes.so"};
    // One scheduler thread: a handler that waited for the store would hold
    // up every other call.
    cfg.scheduler_threads = 1;
    n.emplace(cfg, [store = store](troupe::runtime::logger&) { return store; });
    n->start();
  }

  temp_dir dir;
  std::shared_ptr<held_kv_store> store;
  std::optional<node> n;
};

std::future<reply_envelope> call_async(node& n, const char* service, const std::string& method,
                                       const google::protobuf::Message& request) {
  envelope env;
  env.method = method;
  env.payload = request.SerializeAsString();
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + 30s).time_since_epoch())
                           .count();
  auto done = std::make_shared<std::promise<reply_envelope>>();
  auto result = done->get_future();
  n.call(service, std::move(env), [done](reply_envelope r) { done->set_value(std::move(r)); });
  return result;
}

std::unique_ptr<google::protobuf::Message> id_request(const std::string& id) {
  auto r = new_message("test.notes.v1.IdRequest");
  r->GetReflection()->SetString(r.get(), r->GetDescriptor()->FindFieldByName("id"), id);
  return r;
}

std::unique_ptr<google::protobuf::Message> note_request(const std::string& id,
                                                        const std::string& text) {
  auto r = new_message("test.notes.v1.NoteRequest");
  const auto* type = r->GetDescriptor();
  r->GetReflection()->SetString(r.get(), type->FindFieldByName("id"), id);
  auto* note = r->GetReflection()->MutableMessage(r.get(), type->FindFieldByName("note"));
  note->GetReflection()->SetString(note, note->GetDescriptor()->FindFieldByName("text"), text);
  return r;
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

/// Whether a Get's reply found the note, and its text.
std::pair<bool, std::string> found_note(const reply_envelope& r) {
  INFO("code " << r.code << ": " << r.message);
  REQUIRE(r.code == 0);
  auto reply = new_message("test.notes.v1.NoteReply");
  REQUIRE(reply->ParseFromString(r.payload));
  const auto* type = reply->GetDescriptor();
  const auto& note = reply->GetReflection()->GetMessage(*reply, type->FindFieldByName("note"));
  return {reply->GetReflection()->GetBool(*reply, type->FindFieldByName("found")),
          note.GetReflection()->GetString(note, note.GetDescriptor()->FindFieldByName("text"))};
}

} // namespace

TEST_CASE("a key-value write in the store does not hold the service's actor: it serves other "
          "calls meanwhile, and answers the write when the store does",
          "[runtime][kv]") {
  auto store = std::make_shared<held_kv_store>();
  notes_node nn{store};
  release_at_exit release{*store};

  store->hold_writes();
  auto put = call_async(*nn.n, notes, "Put", *note_request("a", "held"));
  REQUIRE(eventually([&] { return store->held() == 1; }));
  // The same (single) instance on the single scheduler thread answers a
  // call and reads the store while its put waits.
  auto ping = call_async(*nn.n, notes, "Ping", *id_request("x"));
  CHECK(wait_for(ping).code == 0);
  auto before = call_async(*nn.n, notes, "Get", *id_request("a"));
  CHECK_FALSE(found_note(wait_for(before)).first);
  CHECK_FALSE(ready(put));

  store->release();
  CHECK(wait_for(put).code == 0);
  auto after = call_async(*nn.n, notes, "Get", *id_request("a"));
  CHECK(found_note(wait_for(after)) == std::pair<bool, std::string>{true, "held"});
}

TEST_CASE("each service's key-value operations name its own namespace", "[runtime][kv]") {
  auto store = std::make_shared<held_kv_store>();
  notes_node nn{store};
  auto put = call_async(*nn.n, notes, "Put", *note_request("a", "of notes"));
  REQUIRE(wait_for(put).code == 0);
  CHECK(store->namespaces() == std::set<std::string>{notes});

  auto get = call_async(*nn.n, drafts, "Get", *id_request("a"));
  CHECK_FALSE(found_note(wait_for(get)).first);
  CHECK(store->namespaces() == std::set<std::string>{notes, drafts});
}
