// troupe_bench_activations: memory per idle virtual actor, Troupe against a
// CAF actor per key, in one run.
//
// Troupe side: a node loads the counter example and N distinct keys are
// activated through node::call (Get on "key-<i>"); the activations then sit
// idle (idle timeout 1 h). Cost = growth of the process's resident set / N,
// which counts everything a key holds: the shard's table entry, the
// activation, the service object.
// Anchor: a second, plain actor system; for each of N keys one spawned
// stateful CAF actor holding an int32 (the counter's state), answering a get,
// and its handle in a std::unordered_map<std::string, caf::actor> (the
// registry entry a virtual-actor layer on raw CAF needs). Each actor handles
// one message before being measured, as the activations did.
//
// Goal (shared/PRODUCT.md): an idle virtual actor ≤ 1 KB including registry
// entries; for reference Akka is ~400 bytes and Erlang ~2.5 KB.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/node.hpp"

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;

constexpr const char* service_name = "demo.counter.v1.Counter";
constexpr double goal_bytes = 1024;

/// Resident set size of this process, in bytes.
double resident_bytes() {
  long pages = 0, resident = 0;
  if (auto* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

/// GetRequest{key}: field 1, length-delimited; keys stay under 128 bytes.
std::string get_request(std::string_view key) {
  std::string out;
  out.push_back(0x0a);
  out.push_back(static_cast<char>(key.size()));
  out.append(key);
  return out;
}

/// Activates keys "<prefix>0" ... through node::call, at most `window` at a
/// time; false if a call failed or the whole did not end within `limit`.
bool activate_keys(troupe::runtime::node& node, const std::string& prefix, std::size_t keys,
                   std::chrono::seconds limit) {
  constexpr std::size_t window = 256;
  std::mutex m;
  std::condition_variable cv;
  std::size_t outstanding = 0;
  std::size_t failed = 0;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (std::size_t i = 0; i < keys; ++i) {
    {
      std::unique_lock lock{m};
      if (!cv.wait_until(lock, deadline, [&] { return outstanding < window; }))
        return false;
      ++outstanding;
    }
    troupe::runtime::envelope env;
    env.method = "Get";
    env.key = prefix + std::to_string(i);
    env.payload = get_request(env.key);
    node.call(service_name, std::move(env), [&](troupe::runtime::reply_envelope r) {
      std::lock_guard lock{m};
      if (r.code != 0)
        ++failed;
      --outstanding;
      cv.notify_all();
    });
  }
  std::unique_lock lock{m};
  return cv.wait_until(lock, deadline, [&] { return outstanding == 0; }) && failed == 0;
}

struct counter_state {
  std::int32_t value = 0;
};

caf::behavior caf_counter(caf::stateful_actor<counter_state>* self) {
  return {
    [self](get_atom) { return self->state.value; },
  };
}

class anchor_config : public caf::actor_system_config {
public:
  explicit anchor_config(std::size_t threads) {
    set("scheduler.max-threads", threads);
  }
};

std::size_t parse_keys(int argc, char** argv) {
  std::size_t keys = 100'000;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--keys" && i + 1 < argc) {
      char* end = nullptr;
      auto value = std::strtoull(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0' || value == 0 || value > 10'000'000) {
        std::fprintf(stderr, "troupe_bench_activations: --keys: not a number in 1..10000000: %s\n", argv[i]);
        std::exit(2);
      }
      keys = value;
    } else {
      std::fprintf(stderr, "usage: troupe_bench_activations [--keys N]\n");
      std::exit(arg == "--help" || arg == "-h" ? 0 : 2);
    }
  }
  return keys;
}

} // namespace

int main(int argc, char** argv) {
  auto keys = parse_keys(argc, argv);
  auto limit = std::chrono::seconds{60 + keys / 1000};

  char tmpl[] = "/tmp/troupe-bench-activations.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("troupe_bench_activations: mkdtemp");
    return 1;
  }
  std::string data = tmpl;
  struct cleanup {
    std::string path;
    ~cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } remove_data{data};

  troupe::runtime::node_config cfg;
  cfg.name = "bench";
  cfg.data_dir = data + "/data";
  cfg.modules = {TROUPE_BENCH_COUNTER_MODULE};
  cfg.level = troupe::runtime::log_level::warning;
  cfg.scheduler_threads = 2;
  cfg.idle_timeout = std::chrono::hours{1};
  troupe::runtime::node node{cfg};
  try {
    node.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe_bench_activations: node did not start: %s\n", e.what());
    return 1;
  }
  // One key first, so that what the first call allocates once is not counted.
  if (!activate_keys(node, "warm-", 1, limit)) {
    std::fprintf(stderr, "troupe_bench_activations: the first call failed\n");
    return 1;
  }

  auto before = resident_bytes();
  if (!activate_keys(node, "key-", keys, limit)) {
    std::fprintf(stderr, "troupe_bench_activations: activating %zu keys failed\n", keys);
    std::_Exit(1);
  }
  auto troupe_bytes = (resident_bytes() - before) / static_cast<double>(keys);
  auto active = node.services().find(service_name)->stats->active_actors.load();

  anchor_config anchor_cfg{2};
  caf::actor_system anchor{anchor_cfg};
  std::unordered_map<std::string, caf::actor> registry;
  {
    caf::scoped_actor self{anchor};
    auto first = anchor.spawn(caf_counter);  // warms CAF up, not counted
    self->request(first, std::chrono::seconds{10}, get_atom::value).receive([](std::int32_t) {}, [](caf::error&) {});
    before = resident_bytes();
    registry.reserve(keys);
    for (std::size_t i = 0; i < keys; ++i) {
      auto a = anchor.spawn(caf_counter);
      self->send(a, get_atom::value);
      registry.emplace("key-" + std::to_string(i), std::move(a));
    }
    // The answers come back to `self`: collect them all, so each actor has
    // run once and is idle again.
    std::size_t answered = 0;
    self->receive_for(answered, keys)([](std::int32_t) {});
  }
  auto caf_bytes = (resident_bytes() - before) / static_cast<double>(keys);

  std::printf("troupe_bench_activations: %zu idle keys per side (the node reports %llu "
              "counter activations, one of them the warm-up key)\n\n",
              keys, static_cast<unsigned long long>(active));
  std::printf("%-44s %16s\n", "", "bytes per key");
  std::printf("%-44s %16.0f\n", "troupe keyed activation (counter)", troupe_bytes);
  std::printf("%-44s %16.0f\n", "CAF actor per key + registry entry (anchor)", caf_bytes);
  std::printf("\nratio troupe/CAF: %.2f (lower is less memory)\n", troupe_bytes / caf_bytes);
  std::printf("goal: an idle virtual actor <= %.0f bytes: %s\n", goal_bytes,
              troupe_bytes <= goal_bytes ? "PASS" : "BELOW");
  std::fflush(stdout);

  for (auto& [key, a] : registry)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  registry.clear();
  node.stop();
  return 0;
}
