// troupe_bench_dispatch: local request/response through the runtime's
// envelope, against raw CAF request().then between two actors, in one run.
//
// Troupe side: a node loads the counter example; a driver actor in the node's
// actor system sends envelope{Get, key "bench", GetRequest bytes} to the actor
// node.resolve("demo.counter.v1.Counter", "bench") names (the shard hosting
// the key's activation, as every resolved call goes) and receives a
// reply_envelope. The counter's handler parses the request and serializes
// its reply: the whole typed path.
// Anchor: a second, plain actor system with the same scheduler settings (see
// anchor_config); a server actor answers (key, payload) with a reply of the same
// size as the counter's.
//
// Both sides use the same driver: N requests with W of them outstanding,
// request(target, infinite, ...).then(...) sending the next on each reply.
// The driver times itself; main only waits for its result. Rounds alternate
// between the two sides; the ratio reported is the median over the rounds of
// each round's ratio, so that drift in the machine's speed hits both alike.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <string_view>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/node.hpp"
#include "troupe/runtime/scheduler_settings.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using go_atom = caf::atom_constant<caf::atom("go")>;

constexpr const char* service_name = "demo.counter.v1.Counter";
constexpr double dispatch_goal = 0.8;

// The counter is set to 42 before the runs, so every Get answers
// CounterValue{value: 42}: field 1, varint, 42.
const std::string expected_reply{"\x08\x2a", 2};

/// A protobuf message holding one string field number 1, built by hand so
/// that the benchmark needs none of the module's generated classes.
std::string string_field_1(std::string_view s) {
  std::string out;
  out.push_back(0x0a);  // field 1, length-delimited
  out.push_back(static_cast<char>(s.size()));  // short strings only: one byte
  out.append(s);
  return out;
}

struct run_result {
  clock_type::duration elapsed{};
  std::uint64_t errors = 0;
  std::string first_error;
};

// -- the driver, shared by both sides ----------------------------------------

/// What one side sends and how it checks the answer: `request` holds the
/// elements of the request message, reply_type is what then() receives.
struct troupe_traffic {
  using reply_type = troupe::runtime::reply_envelope;
  std::tuple<troupe::runtime::envelope> request;
  // Set when the request goes as an object: the reply's class and field.
  const google::protobuf::Message* reply_prototype = nullptr;
  const google::protobuf::FieldDescriptor* value_field = nullptr;

  bool valid(const reply_type& r, std::string& why, std::uint64_t n) const {
    if (r.code != 0) {
      why = "reply code " + std::to_string(r.code) + ": " + r.message;
      return false;
    }
    if (reply_prototype == nullptr) {
      if (r.payload == expected_reply)
        return true;
      why = "unexpected reply of " + std::to_string(r.payload.size()) + " bytes";
      return false;
    }
    // An object in, an object out, of the module's CounterValue class. A
    // typed caller would read the field directly; reading it by reflection
    // costs ten times the anchor's string compare, so the value is checked
    // on the first reply and every 1024th.
    if (r.object == nullptr || typeid(*r.object) != typeid(*reply_prototype)) {
      why = "no response object of the module's CounterValue class";
      return false;
    }
    if (n % 1024 != 0)
      return true;
    const auto& reply = static_cast<const google::protobuf::Message&>(*r.object);
    if (reply.GetReflection()->GetInt32(reply, value_field) == 42)
      return true;
    why = "unexpected value";
    return false;
  }
};

struct caf_traffic {
  using reply_type = std::string;
  std::tuple<std::string, std::string> request;  // key, payload
  bool valid(const reply_type& r, std::string& why, std::uint64_t) const {
    if (r == expected_reply)
      return true;
    why = "unexpected reply of " + std::to_string(r.size()) + " bytes";
    return false;
  }
};

/// Sends `total` requests to `target`, keeping `window` outstanding, and
/// fulfills `done` when the last reply is in. Copies the request message for
/// every send, as a real caller builds one per call.
template <class Traffic>
class driver : public caf::event_based_actor {
public:
  driver(caf::actor_config& cfg, caf::actor target, Traffic traffic,
         std::uint64_t total, std::uint64_t window, std::promise<run_result>* done)
    : caf::event_based_actor(cfg),
      target_(std::move(target)),
      traffic_(std::move(traffic)),
      total_(total),
      window_(window),
      done_(done) {
    // nop
  }

  caf::behavior make_behavior() override {
    return {
      [this](go_atom) {
        start_ = clock_type::now();
        for (std::uint64_t i = 0; i < window_ && sent_ < total_; ++i)
          send_one();
      },
    };
  }

  const char* name() const override {
    return "bench.driver";
  }

private:
  void send_one() {
    ++sent_;
    std::apply(
      [this](const auto&... xs) {
        request(target_, caf::infinite, xs...)
          .then([this](typename Traffic::reply_type& r) { on_reply(&r, nullptr); },
                [this](caf::error& err) { on_reply(nullptr, &err); });
      },
      traffic_.request);
  }

  void on_reply(typename Traffic::reply_type* r, caf::error* err) {
    std::string why;
    if (err != nullptr)
      why = "CAF error: " + to_string(*err);
    if (err != nullptr || !traffic_.valid(*r, why, received_)) {
      if (result_.errors++ == 0)
        result_.first_error = std::move(why);
    }
    if (++received_ == total_) {
      result_.elapsed = clock_type::now() - start_;
      done_->set_value(std::move(result_));
      quit();
      return;
    }
    if (sent_ < total_)
      send_one();
  }

  caf::actor target_;
  Traffic traffic_;
  std::uint64_t total_;
  std::uint64_t window_;
  std::promise<run_result>* done_;
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  clock_type::time_point start_;
  run_result result_;
};

/// Runs one driver to its end; a run that does not finish in `limit` is a
/// hung benchmark, reported as an error (the process then exits at once).
template <class Traffic>
run_result drive(caf::actor_system& sys, const caf::actor& target,
                 const Traffic& traffic, std::uint64_t total, std::uint64_t window,
                 std::chrono::seconds limit) {
  std::promise<run_result> done;
  auto result = done.get_future();
  auto d = sys.spawn<driver<Traffic>>(target, traffic, total, window, &done);
  caf::anon_send(d, go_atom::value);
  if (result.wait_for(limit) != std::future_status::ready) {
    run_result hung;
    hung.errors = 1;
    hung.first_error = "no end after " + std::to_string(limit.count()) + " s";
    return hung;
  }
  return result.get();
}

// -- the anchor's server and system -------------------------------------------

caf::behavior echo_server(caf::event_based_actor*) {
  return {
    [](const std::string& key, const std::string& payload) -> std::string {
      // The counter's answer, so that both replies have the same size.
      return expected_reply;
    },
  };
}

/// Raw CAF under the node's scheduler settings. Two actor systems share the
/// process: with CAF's default idle policy the anchor's idle workers keep
/// polling through the Troupe rounds while the node's sleep through the
/// anchor's, which skewed the ratio by 0.05-0.1 (docs/benchmarks.md).
class anchor_config : public caf::actor_system_config {
public:
  explicit anchor_config(size_t threads) {
    troupe::runtime::apply_scheduler_settings(*this, threads);
  }
};

// -- the command line ---------------------------------------------------------

struct options {
  std::uint64_t requests = 100'000;
  std::uint64_t rounds = 15;
  std::uint64_t threads = 2;
  std::string module = TROUPE_BENCH_COUNTER_MODULE;
  // "object", "bytes" (Troupe with requests of that form), "troupe" (both)
  // or "caf": run one side, for profiling.
  std::string only;
  bool verbose = false;  // print every round's ratio
};

constexpr const char* usage =
  "usage: troupe_bench_dispatch [--requests N] [--rounds R] [--threads T] "
  "[--module PATH] [--only object|bytes|troupe|caf] [--verbose]\n"
  "  env REQUESTS and ROUNDS set the defaults of the first two\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "troupe_bench_dispatch: %s\n%s", what.c_str(), usage);
  std::exit(2);
}

std::uint64_t parse_count(const char* name, const char* text) {
  char* end = nullptr;
  errno = 0;
  auto value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value == 0 || text[0] == '-')
    usage_error(std::string{name} + ": not a positive number: " + text);
  return value;
}

options parse_options(int argc, char** argv) {
  options opts;
  if (auto* v = std::getenv("REQUESTS"); v != nullptr && *v != '\0')
    opts.requests = parse_count("REQUESTS", v);
  if (auto* v = std::getenv("ROUNDS"); v != nullptr && *v != '\0')
    opts.rounds = parse_count("ROUNDS", v);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (arg == "--verbose") {
      opts.verbose = true;
      continue;
    }
    if (i + 1 >= argc)
      usage_error("unknown option or missing value: " + std::string{arg});
    const char* value = argv[++i];
    if (arg == "--requests")
      opts.requests = parse_count("--requests", value);
    else if (arg == "--rounds")
      opts.rounds = parse_count("--rounds", value);
    else if (arg == "--threads")
      opts.threads = parse_count("--threads", value);
    else if (arg == "--module")
      opts.module = value;
    else if (arg == "--only"
             && (std::string_view{value} == "object" || std::string_view{value} == "bytes"
                 || std::string_view{value} == "troupe" || std::string_view{value} == "caf"))
      opts.only = value;
    else
      usage_error("unknown option: " + std::string{arg});
  }
  return opts;
}

// -- reporting ----------------------------------------------------------------

std::string load_average() {
  std::string text;
  if (auto* f = std::fopen("/proc/loadavg", "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f) != nullptr)
      text = buf;
    std::fclose(f);
  }
  // "0.50 0.40 0.30 1/123 4567": keep the three averages.
  size_t pos = 0;
  for (int fields = 0; fields < 3 && pos != std::string::npos; ++fields)
    pos = text.find(' ', pos + 1);
  return text.substr(0, pos);
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;  // the side was not run
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// Removes the node's data directory however main ends.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/troupe-bench-dispatch.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("troupe_bench_dispatch: mkdtemp");
      std::exit(1);
    }
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

} // namespace

int main(int argc, char** argv) {
  auto opts = parse_options(argc, argv);
  // Generous: even 1 ms per request would be far off any useful result.
  auto limit = std::chrono::seconds{60 + opts.requests / 1000};

  temp_dir data;
  troupe::runtime::node_config cfg;
  cfg.name = "bench";
  cfg.data_dir = data.path + "/data";
  cfg.modules = {opts.module};
  cfg.level = troupe::runtime::log_level::warning;
  cfg.scheduler_threads = opts.threads;
  troupe::runtime::node node{cfg};
  try {
    node.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe_bench_dispatch: node did not start: %s\n", e.what());
    return 1;
  }
  auto target = node.resolve(service_name, "bench");
  if (!target) {
    std::fprintf(stderr, "troupe_bench_dispatch: no actor for %s key bench\n",
                 service_name);
    return 1;
  }

  // Add 42 to the counter (activating the key) so that Get has a value to
  // answer; this call is not measured.
  troupe::runtime::envelope add;
  add.method = "Add";
  add.key = "bench";
  add.payload = string_field_1("bench") + std::string{"\x10\x2a", 2};  // delta 42
  {
    caf::scoped_actor self{node.system()};
    bool ok = false;
    std::string why = "no reply";
    self->request(target, std::chrono::seconds{10}, add)
      .receive(
        [&](troupe::runtime::reply_envelope& r) {
          ok = r.code == 0 && r.payload == expected_reply;
          why = "code " + std::to_string(r.code) + " " + r.message;
        },
        [&](caf::error& err) { why = to_string(err); });
    if (!ok) {
      std::fprintf(stderr, "troupe_bench_dispatch: Add to the counter failed: %s\n",
                   why.c_str());
      return 1;
    }
  }

  troupe::runtime::envelope get;
  get.method = "Get";
  get.key = "bench";
  get.payload = string_field_1("bench");
  // A deadline, as the gateway sets one, so that the activation checks it;
  // far enough away for any run. The driver itself waits without timeout.
  get.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (std::chrono::system_clock::now() + std::chrono::hours{24})
                             .time_since_epoch())
                           .count();
  // The same request as an object of the module's generated class, as a
  // caller in the node hands it over (a handler's call to another service,
  // the gateway's transcoded request): no serialization, no parse.
  troupe::runtime::envelope get_object = get;
  get_object.payload.clear();
  const google::protobuf::Message* reply_prototype = nullptr;
  const google::protobuf::FieldDescriptor* value_field = nullptr;
  {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    const auto* request_type = pool->FindMessageTypeByName("demo.counter.v1.GetRequest");
    const auto* reply_type = pool->FindMessageTypeByName("demo.counter.v1.CounterValue");
    if (request_type == nullptr || reply_type == nullptr) {
      std::fprintf(stderr, "troupe_bench_dispatch: the counter module registered no "
                           "demo.counter.v1 types\n");
      return 1;
    }
    std::shared_ptr<google::protobuf::Message> object{
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(request_type)->New()};
    object->GetReflection()->SetString(object.get(), request_type->FindFieldByName("key"),
                                       "bench");
    get_object.object = std::move(object);
    reply_prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(reply_type);
    value_field = reply_type->FindFieldByName("value");
  }
  // sides[0]: objects, sides[1]: bytes (what a caller on another node sends).
  const troupe_traffic troupe_sides[] = {
    {std::make_tuple(get_object), reply_prototype, value_field},
    {std::make_tuple(get), nullptr, nullptr}};

  anchor_config anchor_cfg{opts.threads};
  caf::actor_system anchor{anchor_cfg};
  auto server = anchor.spawn(echo_server);
  caf_traffic caf_side{std::make_tuple(std::string{"bench"}, get.payload)};

  std::printf("troupe_bench_dispatch: %llu requests per run, %llu rounds "
              "(median), %llu scheduler threads per actor system\n",
              static_cast<unsigned long long>(opts.requests),
              static_cast<unsigned long long>(opts.rounds),
              static_cast<unsigned long long>(opts.threads));
  std::printf("load average at start: %s\n", load_average().c_str());
  std::fflush(stdout);

  auto check = [&data](const char* what, const run_result& r) {
    if (r.errors == 0)
      return;
    std::fprintf(stderr, "troupe_bench_dispatch: %s: %llu failed requests, first: %s\n",
                 what, static_cast<unsigned long long>(r.errors),
                 r.first_error.c_str());
    std::fflush(stderr);
    // Actors may still be busy or stuck: leave without waiting for them.
    std::error_code ec;
    std::filesystem::remove_all(data.path, ec);
    std::_Exit(1);
  };
  auto rate = [&](const run_result& r) {
    return static_cast<double>(opts.requests)
           / std::chrono::duration<double>(r.elapsed).count();
  };

  // Warm up both sides (allocators, caches, the scheduler's threads).
  auto warm = std::min<std::uint64_t>(opts.requests, 20'000);
  for (const auto& side : troupe_sides)
    check("warm-up troupe", drive(node.system(), target, side, warm, 16, limit));
  check("warm-up CAF", drive(anchor, server, caf_side, warm, 16, limit));

  // Rows: objects at 1 and 16 outstanding, then bytes at 1 and 16.
  const std::uint64_t windows[] = {1, 16};
  std::vector<double> troupe_rates[4], caf_rates[2];
  for (std::uint64_t round = 0; round < opts.rounds; ++round) {
    for (int m = 0; m < 2; ++m) {
      for (int s = 0; s < 2; ++s) {
        const char* form = s == 0 ? "object" : "bytes";
        if (!opts.only.empty() && opts.only != "troupe" && opts.only != form)
          continue;
        auto t = drive(node.system(), target, troupe_sides[s], opts.requests, windows[m], limit);
        check("troupe", t);
        troupe_rates[2 * s + m].push_back(rate(t));
      }
      if (opts.only.empty() || opts.only == "caf") {
        auto c = drive(anchor, server, caf_side, opts.requests, windows[m], limit);
        check("CAF", c);
        caf_rates[m].push_back(rate(c));
      }
    }
  }

  std::printf("\n%-36s %12s %12s %6s %6s  %s\n", "request as / outstanding",
              "troupe req/s", "CAF req/s", "ratio", "goal", "result");
  for (int row = 0; row < 4; ++row) {
    auto t = median(troupe_rates[row]);
    auto c = median(caf_rates[row % 2]);
    // The ratio of each round's adjacent runs, then the median of those:
    // drift in the machine's speed between rounds cancels out.
    std::vector<double> ratios;
    for (size_t r = 0; r < troupe_rates[row].size() && r < caf_rates[row % 2].size(); ++r)
      ratios.push_back(troupe_rates[row][r] / caf_rates[row % 2][r]);
    auto ratio = median(ratios);

    const char* names[] = {"object (local caller) / 1", "object (local caller) / 16",
                           "bytes (remote caller) / 1", "bytes (remote caller) / 16"};
    // The goal is for local calls; bytes show what a call from another node
    // costs the serving side, without the network.
    bool judged = row < 2;
    std::printf("%-36s %12.0f %12.0f %6.2f %6s  %s\n", names[row], t, c, ratio,
                judged ? ">=0.8" : "-",
                !judged ? "(info)" : ratio >= dispatch_goal ? "PASS" : "BELOW");
    if (opts.verbose && !ratios.empty()) {
      std::printf("%-36s", "  every round's ratio:");
      for (auto x : ratios)
        std::printf(" %.2f", x);
      std::printf("\n");
    }
  }
  std::printf("mean latency at 1 outstanding: troupe %.2f us (object), %.2f us (bytes), "
              "CAF %.2f us\n",
              1e6 / median(troupe_rates[0]), 1e6 / median(troupe_rates[2]),
              1e6 / median(caf_rates[0]));
  std::printf("load average at end: %s\n", load_average().c_str());
  std::fflush(stdout);

  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  node.stop();
  return 0;
}
