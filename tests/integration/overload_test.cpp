// Overload, seen from outside: a node stays responsive and bounded when
// handlers block, when more calls come than it takes on, and when more keys
// come than it keeps active; and it says so. Uses tests/modules/faulty.proto:
//   test.faulty.v1.FaultyBlocking       declared blocking, 2 threads; Wait
//                                       blocks until a file exists
//   test.faulty.v1.FaultyBlockingKeyed  the same, keyed (2 shards, 2 threads)
//   test.faulty.v1.FaultyKeyed          keyed, not blocking; Block blocks its
//                                       shard's scheduler thread (it must not),
//                                       Relay calls FaultyBlocking.Wait
//   test.faulty.v1.Faulty               stateless; Slow sleeps (it must not)
//   test.faulty.v1.FaultyCapped         keyed, at most 3 activations; Hold keeps
//                                       its key busy on a FaultyBlocking.Wait
// The calls that must stay blocked wait for a file the test creates when it
// is done: no test waits for time to pass.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

constexpr const char* blocking_service = "test.faulty.v1.FaultyBlocking";

std::vector<std::string> with_modules(std::vector<std::string> args) {
  for (const auto& m : {counter_module(), test_module("faulty")}) {
    args.push_back("--module");
    args.push_back(m);
  }
  return args;
}

std::string wait_body(const std::string& path, int max_millis = 30'000) {
  return R"({"path": ")" + path + R"(", "max_millis": )" + std::to_string(max_millis) + "}";
}

std::string wait_request(const std::string& path, int max_millis = 30'000) {
  return make_request("POST", "/v1/faulty-blocking/wait", wait_body(path, max_millis));
}

/// Creates `path`: every call waiting for it returns.
void release(const std::string& path) {
  std::ofstream{path} << "go\n";
  REQUIRE(std::filesystem::exists(path));
}

troupe::admin::v1::NodeInfo admin_node(std::uint16_t port) {
  return admin_get<troupe::admin::v1::NodeInfo>(port, "/admin/v1/node");
}

/// The node's resident set in KiB, from /proc/PID/status.
std::int64_t rss_kib(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtoll(line.c_str() + 6, nullptr, 10);
  FAIL("no VmRSS line for process " << pid);
  return 0;
}

/// Calls sent on connections of their own and not read yet: blocked calls.
class held_calls {
public:
  held_calls(std::uint16_t port, int n, const std::string& request) {
    for (int i = 0; i < n; ++i) {
      conns_.push_back(std::make_unique<raw_connection>(port));
      conns_.back()->send(request);
    }
  }

  /// Reads every answer; each must be 200.
  void require_all_ok() {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      auto r = conns_[i]->read_response(std::chrono::seconds{40});
      INFO("held call " << i);
      REQUIRE(r.has_value());
      INFO(r->body);
      REQUIRE(r->status == 200);
    }
  }

private:
  std::vector<std::unique_ptr<raw_connection>> conns_;
};

/// The refusal of a call at a bound: 503, a problem document naming it,
/// and Retry-After.
void require_shed(const http_response& r, const std::string& bound) {
  auto p = require_problem(r, 503);
  INFO("detail: " << p.detail);
  CHECK(contains(p.detail, bound));
  CHECK(contains(p.detail, "retry later"));
  CHECK_FALSE(r.header("retry-after").empty());
}

/// Sends FaultyBlocking.Wait calls on connections of their own, one at a
/// time (each counted, in flight or shed, before the next), until `full`
/// are in flight: its instances' threads taken and their mailboxes full.
/// The calls refused on the way are read into `refused`; the accepted ones
/// stay unread in `held`.
void fill_blocking(const node_process& node, const std::string& gate, std::uint64_t full,
                   std::vector<std::unique_ptr<raw_connection>>& held,
                   std::vector<http_response>& refused) {
  for (int i = 0; i < 40; ++i) {
    auto before = admin_service(node.port(), blocking_service);
    if (before.inflight() >= full)
      return;
    held.push_back(std::make_unique<raw_connection>(node.port()));
    held.back()->send(wait_request(gate));
    REQUIRE(eventually([&] {
      auto info = admin_service(node.port(), blocking_service);
      return info.inflight() + info.calls_shed() == before.inflight() + before.calls_shed() + 1;
    }));
    if (admin_service(node.port(), blocking_service).calls_shed() > before.calls_shed()) {
      // A call still counted as queued when this one came: refused.
      auto r = held.back()->read_response();
      REQUIRE(r.has_value());
      refused.push_back(*r);
      held.pop_back();
    }
  }
  FAIL("FaultyBlocking did not fill up to " << full << " calls in flight");
}

std::int64_t percentile(std::vector<std::int64_t> xs, double p) {
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(xs.size() - 1));
  return xs[i];
}

} // namespace

TEST_CASE("overload: a blocking service with all its threads blocked leaves the "
          "other services their threads",
          "[overload][blocking]") {
  // Two scheduler threads and two blocked handlers: were the blocking
  // service on the scheduler, nothing else would run until they return.
  node_process node{with_modules({"--scheduler-threads", "2"})};
  temp_dir dir;
  const auto gate = dir.path() + "/release";
  held_calls waits{node.port(), 2, wait_request(gate)};
  REQUIRE(eventually([&] { return admin_service(node.port(), blocking_service).inflight() == 2; }));

  // 500 counter calls while both threads stay blocked, each with a deadline
  // well short of the blocked calls' end.
  raw_connection conn{node.port()};
  std::vector<std::int64_t> micros;
  for (int i = 0; i < 500; ++i) {
    auto started = std::chrono::steady_clock::now();
    conn.send(make_request("POST", "/v1/counters/busy:add", R"({"delta": 1})",
                           {"X-Troupe-Timeout-Ms: 5000"}));
    auto r = conn.read_response();
    micros.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count());
    INFO("call " << i);
    REQUIRE(r.has_value());
    REQUIRE(counter_value(*r) == i + 1);
  }
  // Measured, not asserted (the issue's goal is p99 under 20 ms).
  std::printf("blocking test: 500 counter calls while the blocking service's threads "
              "were blocked: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              percentile(micros, 0.5) / 1000.0, percentile(micros, 0.99) / 1000.0,
              percentile(micros, 1.0) / 1000.0);
  // The threads were blocked throughout.
  auto info = admin_service(node.port(), blocking_service);
  REQUIRE(info.inflight() == 2);
  CHECK(info.blocking());
  CHECK(info.threads() == 2);
  CHECK(info.instances() == 2);
  // A blocking service's long handlers are expected: not reported as slow.
  release(gate);
  waits.require_all_ok();
  CHECK(admin_service(node.port(), blocking_service).slow_calls() == 0);
}

TEST_CASE("overload: a keyed blocking service runs its keys on threads of its own",
          "[overload][blocking]") {
  node_process node{with_modules({"--scheduler-threads", "2"})};
  temp_dir dir;
  const auto gate = dir.path() + "/release";
  // Keys blocked on both shards' threads at once: at least two keys, found
  // among a few, answer only when released.
  std::vector<std::unique_ptr<raw_connection>> conns;
  for (int i = 0; i < 6; ++i) {
    conns.push_back(std::make_unique<raw_connection>(node.port()));
    conns.back()->send(make_request("POST", "/v1/faulty-blocking-keyed/k" + std::to_string(i) + ":wait",
                                    wait_body(gate)));
  }
  REQUIRE(eventually([&] {
    return admin_service(node.port(), "test.faulty.v1.FaultyBlockingKeyed").inflight() == 6;
  }));
  // The scheduler's threads are free.
  REQUIRE(counter_add(node.port(), "free", 5) == 5);
  auto info = admin_service(node.port(), "test.faulty.v1.FaultyBlockingKeyed");
  CHECK(info.blocking());
  CHECK(info.threads() == 2);
  release(gate);
  for (auto& c : conns) {
    auto r = c->read_response(std::chrono::seconds{40});
    REQUIRE(r.has_value());
    require_json_ok(*r);
    CHECK(int_field(r->body, "calls") == 1);
  }
}

TEST_CASE("overload: past --max-inflight calls are refused at once with 503 and "
          "Retry-After, and memory stays flat",
          "[overload][inflight]") {
  node_process node{with_modules({"--max-inflight", "50"})};
  temp_dir dir;
  const auto gate = dir.path() + "/release";
  // 50 calls to a service that does not answer them (two run, the rest wait
  // in its actors' mailboxes): the node's room for calls is taken.
  held_calls blocked{node.port(), 50, wait_request(gate)};
  REQUIRE(eventually([&] { return admin_node(node.port()).inflight() == 50; }));
  CHECK(admin_node(node.port()).max_inflight() == 50);

  // Once the allocator has seen a few refusals, memory must not grow with
  // more of them.
  auto flood = [&](int per_connection) {
    std::vector<std::thread> workers;
    std::atomic<int> refused{0};
    std::mutex mtx;
    std::string first_fault;
    for (int t = 0; t < 8; ++t)
      workers.emplace_back([&, t] {
        try {
          raw_connection conn{node.port()};
          for (int i = 0; i < per_connection; ++i) {
            // Both to the blocked service and to one that would answer.
            conn.send(i % 2 == 0 ? wait_request(gate) : add_request("k" + std::to_string(t), 1));
            auto r = conn.read_response();
            if (r && r->status == 503 && !r->header("retry-after").empty()) {
              refused.fetch_add(1);
            } else {
              std::lock_guard guard{mtx};
              if (first_fault.empty())
                first_fault = r ? std::to_string(r->status) + " " + r->body : "no answer";
            }
          }
        } catch (const std::exception& e) {
          std::lock_guard guard{mtx};
          first_fault = e.what();
        }
      });
    for (auto& w : workers)
      w.join();
    INFO("first fault: " << first_fault);
    REQUIRE(first_fault.empty());
    return refused.load();
  };
  REQUIRE(flood(50) == 400);
  auto before = rss_kib(node.pid());
  REQUIRE(flood(2'500) == 20'000);
  auto after = rss_kib(node.pid());
  std::printf("in-flight test: RSS %lld KiB before 20000 refused calls, %lld KiB after\n",
              static_cast<long long>(before), static_cast<long long>(after));
  // Refused at once: the 50 were in flight throughout, none answered yet.
  auto info = admin_node(node.port());
  REQUIRE(info.inflight() == 50);
  CHECK(info.calls_shed() >= 20'400);
  CHECK(contains(info.shedding(), "in-flight limit reached (50 calls)"));
  CHECK(after - before < 8 * 1024);

  // What a client sees, and what a load balancer's probe sees.
  auto r = http_call(node.port(), "GET", "/v1/counters/someone");
  require_shed(r, "in-flight limit reached (50 calls)");
  auto ready = http_call(node.port(), "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(contains(ready.body, "in-flight limit reached (50 calls)"));

  release(gate);
  blocked.require_all_ok();
  // Room again, and after a quiet second the node no longer says it sheds.
  REQUIRE(counter_add(node.port(), "after", 1) == 1);
  CHECK(eventually([&] { return admin_node(node.port()).shedding().empty(); }, 50, 100ms));
  CHECK(eventually([&] { return http_call(node.port(), "GET", "/readyz").status == 200; },
                   50, 100ms));
}

TEST_CASE("overload: past the mailbox limit an actor's calls are refused with 503",
          "[overload][mailbox]") {
  node_process node{with_modules({"--max-mailbox", "3"})};
  temp_dir dir;
  const auto gate = dir.path() + "/release";
  // FaultyBlocking's two instances each run one call and take three more in
  // their mailbox.
  std::vector<std::unique_ptr<raw_connection>> held;
  std::vector<http_response> refused;
  fill_blocking(node, gate, 2 * (1 + 3), held, refused);
  // Past that, calls are refused as they come.
  for (int i = 0; i < 3; ++i) {
    auto r = http_call(node.port(), "POST", "/v1/faulty-blocking/wait", wait_body(gate));
    refused.push_back(r);
  }
  auto info = admin_service(node.port(), blocking_service);
  CHECK(info.inflight() == 2 * (1 + 3));
  CHECK(info.mailbox_high_water() == 3);
  CHECK(info.calls_shed() == refused.size());
  for (const auto& r : refused)
    require_shed(r, "mailbox limit reached (3 calls waiting for one actor of "
                    "test.faulty.v1.FaultyBlocking)");
  CHECK(contains(admin_node(node.port()).shedding(), "mailbox limit reached"));
  // Other services are not touched.
  REQUIRE(counter_add(node.port(), "bystander", 1) == 1);

  release(gate);
  for (auto& c : held) {
    auto r = c->read_response(std::chrono::seconds{40});
    REQUIRE(r.has_value());
    require_json_ok(*r);
  }
}

TEST_CASE("overload: a handler's call that is shed gets a clear status, not a hang",
          "[overload][mailbox]") {
  node_process node{with_modules({"--max-mailbox", "1"})};
  temp_dir dir;
  const auto gate = dir.path() + "/release";
  // FaultyBlocking full: each instance runs one call and holds one.
  std::vector<std::unique_ptr<raw_connection>> held;
  std::vector<http_response> refused;
  fill_blocking(node, gate, 4, held, refused);
  auto shed_before = admin_service(node.port(), blocking_service).calls_shed();
  // Relay's own call to FaultyBlocking is refused; Relay answers with that
  // status, long before its deadline.
  auto r = http_call(node.port(), "POST", "/v1/faulty-keyed/k:relay",
                     R"({"wait_path": ")" + gate + R"("})", {"X-Troupe-Timeout-Ms: 10000"});
  auto p = require_problem(r, 503);
  INFO(p.detail);
  CHECK(contains(p.detail, "service test.faulty.v1.FaultyBlocking is overloaded"));
  CHECK(contains(p.detail, "mailbox limit reached (1 calls waiting for one actor"));
  CHECK(admin_service(node.port(), blocking_service).calls_shed() == shed_before + 1);
  release(gate);
  for (auto& c : held) {
    auto answer = c->read_response(std::chrono::seconds{40});
    REQUIRE(answer.has_value());
    require_json_ok(*answer);
  }
}

TEST_CASE("overload: a call answered 504 while it waited never runs afterwards",
          "[overload][deadline]") {
  node_process node{with_modules({"--scheduler-threads", "2"})};
  temp_dir dir;
  const auto gate = dir.path() + "/release";
  const char* keyed = "test.faulty.v1.FaultyKeyed";
  // Block holds key k's shard (a handler that must not block, doing so).
  raw_connection blocker{node.port()};
  blocker.send(make_request("POST", "/v1/faulty-keyed/k:block", wait_body(gate)));
  REQUIRE(eventually([&] { return admin_service(node.port(), keyed).calls() == 1; }));
  // A Get of k waits behind it and gets 504 at its deadline.
  auto late = http_call(node.port(), "GET", "/v1/faulty-keyed/k", {},
                        {"X-Troupe-Timeout-Ms: 300"});
  require_problem(late, 504);
  release(gate);
  auto blocked = blocker.read_response(std::chrono::seconds{40});
  REQUIRE(blocked.has_value());
  require_json_ok(*blocked);
  REQUIRE(int_field(blocked->body, "calls") == 1);
  // Had the Get run after its 504, this would be the key's third call.
  auto next = http_call(node.port(), "GET", "/v1/faulty-keyed/k");
  require_json_ok(next);
  CHECK(int_field(next.body, "calls") == 2);
}

TEST_CASE("overload: a slow handler is reported once per method and counted",
          "[overload][slow]") {
  node_process node{with_modules({"--slow-handler-threshold", "50ms"})};
  temp_dir dir;
  const auto never = dir.path() + "/never";
  for (int i = 0; i < 3; ++i)
    require_json_ok(http_call(node.port(), "POST", "/v1/faulty/slow", R"({"millis": 200})"));
  for (int i = 0; i < 2; ++i)
    require_json_ok(http_call(node.port(), "POST", "/v1/faulty-keyed/k:block", wait_body(never, 200)));
  // Declared blocking: not reported.
  require_json_ok(http_call(node.port(), "POST", "/v1/faulty-blocking/wait", wait_body(never, 200)));

  auto faulty = admin_service(node.port(), "test.faulty.v1.Faulty");
  CHECK(faulty.slow_calls() == 3);
  REQUIRE(faulty.slow_methods_size() == 1);
  CHECK(faulty.slow_methods(0) == "Slow");
  auto keyed = admin_service(node.port(), "test.faulty.v1.FaultyKeyed");
  CHECK(keyed.slow_calls() == 2);
  REQUIRE(keyed.slow_methods_size() == 1);
  CHECK(keyed.slow_methods(0) == "Block");
  CHECK(admin_service(node.port(), blocking_service).slow_calls() == 0);
  CHECK(admin_node(node.port()).slow_calls() == 5);
  CHECK(admin_node(node.port()).slow_handler_threshold_ms() == 50);

  // One warning per method, naming service and method.
  auto slow_lines = [&](const std::string& handler) {
    int n = 0;
    for (const auto& line : lines_of(node.stderr_text()))
      if (contains(line, "\"slow handler: ") && contains(line, handler))
        ++n;
    return n;
  };
  REQUIRE(eventually([&] {
    return slow_lines("\"troupe.handler\":\"Slow\"") >= 1
           && slow_lines("\"troupe.handler\":\"Block\"") >= 1;
  }));
  CHECK(slow_lines("\"troupe.handler\":\"Slow\"") == 1);
  CHECK(slow_lines("\"troupe.handler\":\"Block\"") == 1);
  CHECK(slow_lines("\"troupe.service\":\"test.faulty.v1.Faulty\"") == 1);
  CHECK(slow_lines("\"troupe.service\":\"test.faulty.v1.FaultyKeyed\"") == 1);
  CHECK(slow_lines(blocking_service) == 0);
  for (const auto& line : lines_of(node.stderr_text()))
    if (contains(line, "\"troupe.handler\":\"Slow\"") && contains(line, "slow handler")) {
      CHECK(contains(line, "\"log.level\":\"warn\""));
      CHECK(contains(line, "\"event.duration\":"));
    }
}

TEST_CASE("overload: --max-activations 1000 with 5000 distinct keys: never more than "
          "1000 active, every call 200 or 503",
          "[overload][activations]") {
  node_process node{with_modules({"--max-activations", "1000"})};
  constexpr int threads = 4;
  constexpr int keys_per_thread = 1250;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> most_seen{0};
  std::atomic<int> samples{0};
  std::thread watcher([&] {
    // Bounded: the callers end within the test's timeout, and so does this.
    for (int i = 0; i < 100'000 && !done.load(); ++i) {
      try {
        raw_connection conn{node.port()};
        conn.send(make_request("GET", "/admin/v1/node"));
        auto r = conn.read_response();
        if (r && r->status == 200)
          if (auto n = try_int_field(r->body, "activations")) {
            auto seen = most_seen.load();
            while (static_cast<std::uint64_t>(*n) > seen
                   && !most_seen.compare_exchange_weak(seen, static_cast<std::uint64_t>(*n))) {
            }
            samples.fetch_add(1);
          }
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  std::vector<int> ok(threads, 0), shed(threads, 0);
  std::vector<std::string> faults(threads);
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&, t] {
      try {
        raw_connection conn{node.port()};
        for (int i = 0; i < keys_per_thread; ++i) {
          conn.send(add_request("key-" + std::to_string(t) + "-" + std::to_string(i), 1));
          auto r = conn.read_response();
          if (r && r->status == 200) {
            ++ok[t];
          } else if (r && r->status == 503 && !r->header("retry-after").empty()
                     && contains(r->body, "activation limit reached (1000 activations")) {
            ++shed[t];
          } else {
            faults[t] = r ? std::to_string(r->status) + " " + r->body : "no answer";
            return;
          }
        }
      } catch (const std::exception& e) {
        faults[t] = e.what();
      }
    });
  for (auto& c : callers)
    c.join();
  done = true;
  watcher.join();
  int answered_ok = 0, answered_shed = 0;
  for (int t = 0; t < threads; ++t) {
    INFO("caller " << t << ": " << faults[t]);
    REQUIRE(faults[t].empty());
    answered_ok += ok[t];
    answered_shed += shed[t];
  }
  std::printf("activation test: 5000 keys, %d answered 200, %d answered 503; "
              "most activations seen %llu (%d samples)\n",
              answered_ok, answered_shed, static_cast<unsigned long long>(most_seen.load()),
              samples.load());
  REQUIRE(answered_ok + answered_shed == threads * keys_per_thread);
  // Idle keys made room for new ones: far more keys served than the bound.
  CHECK(answered_ok > 2 * 1000);
  CHECK(samples.load() > 0);
  CHECK(most_seen.load() <= 1000);
  auto info = admin_node(node.port());
  CHECK(info.max_activations() == 1000);
  CHECK(info.activations() <= 1000);
  CHECK(admin_service(node.port(), "demo.counter.v1.Counter").active_actors() <= 1000);
}

TEST_CASE("overload: a service's own activation bound: busy keys are kept, new keys get "
          "503 until one is idle",
          "[overload][activations]") {
  node_process node{with_modules({})};
  temp_dir dir;
  const auto gate = dir.path() + "/release";
  const char* capped = "test.faulty.v1.FaultyCapped";
  auto get = [&](const std::string& key) {
    return http_call(node.port(), "GET", std::string{"/v1/faulty-capped/"} + key);
  };

  SECTION("idle keys make room") {
    for (int i = 0; i < 8; ++i) {
      auto r = get("idle-" + std::to_string(i));
      require_json_ok(r);
      CHECK(int_field(r.body, "calls") == 1);
      CHECK(admin_service(node.port(), capped).active_actors() <= 3);
    }
    CHECK(admin_service(node.port(), capped).max_activations() == 3);
    // The most recent keys stayed: the latest answers its second call.
    auto again = get("idle-7");
    require_json_ok(again);
    CHECK(int_field(again.body, "calls") == 2);
  }
  SECTION("busy keys stay; a new key is refused") {
    std::vector<std::unique_ptr<raw_connection>> holds;
    for (int i = 0; i < 3; ++i) {
      holds.push_back(std::make_unique<raw_connection>(node.port()));
      holds.back()->send(make_request("POST", "/v1/faulty-capped/busy-" + std::to_string(i) + ":hold",
                                      wait_body(gate)));
    }
    REQUIRE(eventually([&] { return admin_service(node.port(), capped).inflight() == 3; }));
    auto r = get("new");
    require_shed(r, "activation limit of test.faulty.v1.FaultyCapped reached (3 activations");
    CHECK(admin_service(node.port(), capped).active_actors() == 3);
    CHECK(admin_service(node.port(), capped).calls_shed() == 1);
    release(gate);
    for (auto& h : holds) {
      auto answer = h->read_response(std::chrono::seconds{40});
      REQUIRE(answer.has_value());
      require_json_ok(*answer);
    }
    // Idle now: one goes for the new key.
    auto later = get("new");
    require_json_ok(later);
    CHECK(admin_service(node.port(), capped).active_actors() == 3);
  }
}
