// troupe_bench_remote: request/response between two nodes on loopback
// through the runtime, against raw CAF BASP request/response between two
// processes, in one run.
//
// Troupe side: this process hosts node "a" (runtime::node with the counter
// module and a cluster::cluster, as `troupe node` composes them, without the
// gateway); a `troupe node` process "b" joins it. Calls enter node a through
// node::call for a counter key that b owns: a's cluster directory resolves
// it to b's shard, a remote_relay sends the envelope over BASP, b's shard
// runs the key's activation (generated dispatch, handler), and the reply
// comes back through the relay to the caller's callback. Each call carries
// a deadline 15 s away, as the gateway's do; the callback sends the next.
// Anchor: this process's second actor system (with CAF's middleman) calls a
// trivial echo actor that a child process (this binary, --anchor-server)
// published with caf::io::middleman::publish; the request holds the same
// three strings as the envelope (method, key, payload), the reply the
// counter's 2 bytes.
//
// Rounds alternate between the sides; each round runs 1 and 16 calls
// outstanding; the ratio reported is the median over the rounds of each
// round's ratio (bench/dispatch does the same).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "support/loopback_ports.hpp"
#include "troupe/cluster/cluster.hpp"
#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/memory_state_store.hpp"
#include "troupe/runtime/node.hpp"
#include "troupe/runtime/scheduler_settings.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using go_atom = caf::atom_constant<caf::atom("go")>;

constexpr const char* service_name = "demo.counter.v1.Counter";
constexpr const char* secret = "bench-remote-secret";
constexpr double remote_goal = 0.9;

// The counter is set to 42 before the runs, so every Get answers
// CounterValue{value: 42}: field 1, varint, 42.
const std::string expected_reply{"\x08\x2a", 2};

/// A protobuf message holding one string field number 1 (short strings).
std::string string_field_1(std::string_view s) {
  std::string out;
  out.push_back(0x0a);
  out.push_back(static_cast<char>(s.size()));
  out.append(s);
  return out;
}

std::int64_t unix_ns(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct run_result {
  clock_type::duration elapsed{};
  std::uint64_t errors = 0;
  std::string first_error;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "troupe_bench_remote: %s\n", what.c_str());
  std::fflush(stderr);
  // Actors may still be busy: leave without waiting for them; the children
  // die with this process (PR_SET_PDEATHSIG).
  std::_Exit(1);
}

// -- child processes -------------------------------------------------------------

/// A child process whose stdout is read line by line; stderr goes to a file.
/// It dies with this process (PR_SET_PDEATHSIG) and is stopped by the
/// destructor: SIGTERM, then SIGKILL after 15 s.
class child_process {
public:
  child_process(std::vector<std::string> args, const std::string& stderr_path) {
    int out[2];
    if (::pipe(out) != 0)
      fail(std::string{"pipe: "} + std::strerror(errno));
    auto parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0)
      fail(std::string{"fork: "} + std::strerror(errno));
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      ::dup2(out[1], STDOUT_FILENO);
      int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0)
        ::dup2(err, STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
  }

  ~child_process() {
    if (out_ >= 0)
      ::close(out_);
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 1500; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
        return;
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The first line of its stdout that contains `needle`, within `limit`;
  /// nullopt when it exits or the time is up.
  std::optional<std::string> wait_for_line(std::string_view needle, std::chrono::seconds limit) {
    auto end = clock_type::now() + limit;
    while (clock_type::now() < end) {
      for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (line.find(needle) != std::string::npos)
          return line;
      }
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      char chunk[512];
      auto n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0)
        return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return std::nullopt;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

// -- the Troupe side: calls into node a, chained from their callbacks --------------

/// N calls with W outstanding through node::call; each reply's callback (on
/// the relay's thread) checks it and sends the next call.
class troupe_run {
public:
  troupe_run(troupe::runtime::node& node, troupe::runtime::envelope request,
             std::uint64_t total)
    : node_(node), request_(std::move(request)), total_(total) {
  }

  run_result go(std::uint64_t window, std::chrono::seconds limit) {
    auto result = done_.get_future();
    start_ = clock_type::now();
    for (std::uint64_t i = 0; i < window; ++i)
      if (sent_.fetch_add(1, std::memory_order_relaxed) < total_)
        send_one();
    if (result.wait_for(limit) != std::future_status::ready)
      fail("troupe: no end after " + std::to_string(limit.count()) + " s");
    return result.get();
  }

private:
  void send_one() {
    auto env = request_;
    env.deadline_unix_ns = unix_ns(std::chrono::system_clock::now() + 15s);
    node_.call(service_name, std::move(env),
               [this](troupe::runtime::reply_envelope r) { on_reply(r); });
  }

  void on_reply(const troupe::runtime::reply_envelope& r) {
    if (r.code != 0 || r.payload != expected_reply) {
      std::lock_guard guard{error_mtx_};
      if (result_.errors++ == 0)
        result_.first_error = r.code != 0 ? "reply code " + std::to_string(r.code) + ": "
                                              + r.message
                                          : "unexpected reply of "
                                              + std::to_string(r.payload.size()) + " bytes";
    }
    if (received_.fetch_add(1, std::memory_order_acq_rel) + 1 == total_) {
      run_result result;
      {
        std::lock_guard guard{error_mtx_};
        result = result_;
      }
      result.elapsed = clock_type::now() - start_;
      // The last touch of this object: go() returns and it is destroyed.
      done_.set_value(std::move(result));
      return;
    }
    if (sent_.fetch_add(1, std::memory_order_relaxed) < total_)
      send_one();
  }

  troupe::runtime::node& node_;
  troupe::runtime::envelope request_;
  std::uint64_t total_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> received_{0};
  clock_type::time_point start_;
  std::mutex error_mtx_;
  run_result result_;
  std::promise<run_result> done_;
};

// -- the anchor: raw CAF request().then to a published actor ----------------------

/// Sends `total` requests to `target`, keeping `window` outstanding, and
/// fulfills `done` when the last reply is in (bench/dispatch's driver).
class driver : public caf::event_based_actor {
public:
  driver(caf::actor_config& cfg, caf::actor target, std::string method, std::string key,
         std::string payload, std::uint64_t total, std::uint64_t window,
         std::promise<run_result>* done)
    : caf::event_based_actor(cfg),
      target_(std::move(target)),
      method_(std::move(method)),
      key_(std::move(key)),
      payload_(std::move(payload)),
      total_(total),
      window_(window),
      done_(done) {
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
    // Copies, as a caller builds one message per call.
    request(target_, caf::infinite, method_, key_, payload_)
      .then([this](std::string& r) { on_reply(&r, nullptr); },
            [this](caf::error& err) { on_reply(nullptr, &err); });
  }

  void on_reply(std::string* r, caf::error* err) {
    if (err != nullptr || *r != expected_reply) {
      if (result_.errors++ == 0)
        result_.first_error = err != nullptr ? "CAF error: " + to_string(*err)
                                             : "unexpected reply of "
                                                 + std::to_string(r->size()) + " bytes";
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
  std::string method_, key_, payload_;
  std::uint64_t total_;
  std::uint64_t window_;
  std::promise<run_result>* done_;
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  clock_type::time_point start_;
  run_result result_;
};

run_result drive_anchor(caf::actor_system& sys, const caf::actor& target,
                        const troupe::runtime::envelope& like, std::uint64_t total,
                        std::uint64_t window, std::chrono::seconds limit) {
  std::promise<run_result> done;
  auto result = done.get_future();
  auto d = sys.spawn<driver>(target, like.method, like.key, like.payload, total, window, &done);
  caf::anon_send(d, go_atom::value);
  if (result.wait_for(limit) != std::future_status::ready)
    fail("CAF: no end after " + std::to_string(limit.count()) + " s");
  return result.get();
}

caf::behavior echo_server(caf::event_based_actor*) {
  return {
    [](const std::string&, const std::string&, const std::string&) -> std::string {
      return expected_reply;  // the counter's answer: same size
    },
  };
}

/// Raw CAF with the middleman, under the node's scheduler settings.
class anchor_config : public caf::actor_system_config {
public:
  explicit anchor_config(size_t threads) {
    troupe::runtime::apply_scheduler_settings(*this, threads);
    load<caf::io::middleman>();
  }
};

/// --anchor-server: publish the echo actor on 127.0.0.1, print its port,
/// serve until SIGTERM.
int anchor_server(std::size_t threads) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  anchor_config cfg{threads};
  caf::actor_system system{cfg};
  auto server = system.spawn(echo_server);
  auto port = system.middleman().publish(server, 0, "127.0.0.1");
  if (!port) {
    std::fprintf(stderr, "publish: %s\n", system.render(port.error()).c_str());
    return 1;
  }
  std::printf("anchor listening on %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  return 0;
}

// -- the command line ---------------------------------------------------------------

struct options {
  std::uint64_t requests = 20'000;
  std::uint64_t rounds = 9;
  std::uint64_t threads = 2;
  std::string module = TROUPE_BENCH_COUNTER_MODULE;
  std::string troupe = TROUPE_BENCH_TROUPE_BINARY;
  std::string only;       // "troupe" or "caf": one side alone, for profiling
  bool anchor_server = false;
};

constexpr const char* usage =
  "usage: troupe_bench_remote [--requests N] [--rounds R] [--threads T] [--module PATH]\n"
  "                           [--troupe PATH] [--only troupe|caf]\n"
  "  env REQUESTS and ROUNDS set the defaults of the first two\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "troupe_bench_remote: %s\n%s", what.c_str(), usage);
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
    if (arg == "--anchor-server") {
      opts.anchor_server = true;
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
    else if (arg == "--troupe")
      opts.troupe = value;
    else if (arg == "--only"
             && (std::string_view{value} == "troupe" || std::string_view{value} == "caf"))
      opts.only = value;
    else
      usage_error("unknown option: " + std::string{arg});
  }
  return opts;
}

std::string load_average() {
  std::string text;
  if (auto* f = std::fopen("/proc/loadavg", "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f) != nullptr)
      text = buf;
    std::fclose(f);
  }
  size_t pos = 0;
  for (int fields = 0; fields < 3 && pos != std::string::npos; ++fields)
    pos = text.find(' ', pos + 1);
  return text.substr(0, pos);
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// Removes the benchmark's temporary directory however main ends.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/troupe-bench-remote.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      fail(std::string{"mkdtemp: "} + std::strerror(errno));
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// One call through node a, waited for (set-up only, not measured).
troupe::runtime::reply_envelope call_once(troupe::runtime::node& node,
                                          troupe::runtime::envelope env) {
  env.deadline_unix_ns = unix_ns(std::chrono::system_clock::now() + 5s);
  auto reply = std::make_shared<std::promise<troupe::runtime::reply_envelope>>();
  auto answer = reply->get_future();
  node.call(service_name, std::move(env),
            [reply](troupe::runtime::reply_envelope r) { reply->set_value(std::move(r)); });
  if (answer.wait_for(10s) != std::future_status::ready)
    fail("a set-up call got no answer in 10 s");
  return answer.get();
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse_options(argc, argv);
  if (opts.anchor_server)
    return anchor_server(opts.threads);
  auto limit = std::chrono::seconds{60 + opts.requests / 1000};

  temp_dir tmp;
  auto port_a = troupe::test::free_port_pair();
  auto port_b = troupe::test::free_port_pair();
  auto address = [](std::uint16_t p) { return "127.0.0.1:" + std::to_string(p); };

  // Node a, in this process: the cluster composed with the node as
  // `troupe node` does it (program/node_command.cpp), without a gateway.
  troupe::cluster::cluster_config cc;
  cc.listen = {"127.0.0.1", port_a};
  cc.seeds = {{"127.0.0.1", port_a}, {"127.0.0.1", port_b}};
  cc.secret = secret;
  troupe::runtime::node_config cfg;
  cfg.name = "a";
  cfg.data_dir = tmp.path + "/a";
  cfg.modules = {opts.module};
  cfg.level = troupe::runtime::log_level::warning;
  cfg.scheduler_threads = opts.threads;
  std::unique_ptr<troupe::cluster::cluster> members;
  troupe::runtime::node node{cfg, [&members](troupe::runtime::logger& log) {
                               auto inner = [](troupe::runtime::logger&) {
                                 return std::make_shared<troupe::runtime::memory_state_store>();
                               };
                               return members->wrap_state_store(inner)(log);
                             }};
  members = std::make_unique<troupe::cluster::cluster>(node, cc);
  node.set_cluster_membership(members.get());
  try {
    members->prepare();
    node.start();
    members->start("");
  } catch (const std::exception& e) {
    fail(std::string{"node a did not start: "} + e.what());
  }

  // Node b: a `troupe node` process.
  auto b_log = tmp.path + "/b.log";
  child_process b{{opts.troupe, "node", "--name", "b", "--http", "127.0.0.1:0", "--data",
                   tmp.path + "/b", "--module", opts.module, "--log-level", "warn",
                   "--scheduler-threads", std::to_string(opts.threads), "--cluster-listen",
                   address(port_b), "--seeds", address(port_a) + "," + address(port_b),
                   "--cluster-secret", secret},
                  b_log};
  if (!b.wait_for_line("ready", 60s))
    fail("node b did not start; its log: " + b_log);

  // Both up, a holding its lease; then a key that b owns.
  std::string key;
  auto until = clock_type::now() + 60s;
  while (key.empty() && clock_type::now() < until) {
    auto view = members->view();
    int up = 0;
    for (const auto& m : view->members)
      up += m.state == "up";
    if (up == 2 && members->keyed_unready_reason().empty()) {
      for (int i = 0; i < 1000 && key.empty(); ++i) {
        auto k = "bench-" + std::to_string(i);
        if (members->where(service_name, k).node == "b")
          key = k;
      }
    }
    if (key.empty())
      std::this_thread::sleep_for(100ms);
  }
  if (key.empty())
    fail("the two nodes did not form a cluster with a key on b in 60 s");

  // Add 42 to the key (activating it on b) so that Get has a value to
  // answer; retried while the cluster settles. Not measured.
  troupe::runtime::envelope add;
  add.method = "Add";
  add.key = key;
  add.payload = string_field_1(key) + std::string{"\x10\x2a", 2};  // delta 42
  std::string why;
  until = clock_type::now() + 30s;
  for (bool added = false; !added;) {
    auto r = call_once(node, add);
    added = r.code == 0 && r.payload == expected_reply;
    why = "code " + std::to_string(r.code) + " " + r.message;
    if (!added && clock_type::now() > until)
      fail("Add to the counter on b failed: " + why);
    if (!added)
      std::this_thread::sleep_for(100ms);
  }
  troupe::runtime::envelope get;
  get.method = "Get";
  get.key = key;
  get.payload = string_field_1(key);

  // The anchor's server process and this process's CAF client.
  child_process anchor_proc{{"/proc/self/exe", "--anchor-server", "--threads",
                             std::to_string(opts.threads)},
                            tmp.path + "/anchor.log"};
  auto listening = anchor_proc.wait_for_line("anchor listening on", 30s);
  if (!listening)
    fail("the anchor server did not start; its log: " + tmp.path + "/anchor.log");
  auto anchor_port = static_cast<std::uint16_t>(
    std::strtoul(listening->substr(listening->rfind(' ') + 1).c_str(), nullptr, 10));
  anchor_config anchor_cfg{opts.threads};
  caf::actor_system anchor{anchor_cfg};
  auto remote_echo = anchor.middleman().remote_actor("127.0.0.1", anchor_port);
  if (!remote_echo)
    fail("remote_actor of the anchor: " + anchor.render(remote_echo.error()));
  auto server = *remote_echo;

  std::printf("troupe_bench_remote: %llu requests per run, %llu rounds (median), "
              "%llu scheduler threads per actor system; key %s on node b\n",
              static_cast<unsigned long long>(opts.requests),
              static_cast<unsigned long long>(opts.rounds),
              static_cast<unsigned long long>(opts.threads), key.c_str());
  std::printf("load average at start: %s\n", load_average().c_str());
  std::fflush(stdout);

  auto check = [](const char* what, const run_result& r) {
    if (r.errors != 0)
      fail(std::string{what} + ": " + std::to_string(r.errors) + " failed requests, first: "
           + r.first_error);
  };
  auto rate = [](std::uint64_t n, const run_result& r) {
    return static_cast<double>(n) / std::chrono::duration<double>(r.elapsed).count();
  };
  auto troupe_side = [&](std::uint64_t n, std::uint64_t window) {
    troupe_run run{node, get, n};
    auto r = run.go(window, limit);
    check("troupe", r);
    return rate(n, r);
  };
  auto caf_side = [&](std::uint64_t n, std::uint64_t window) {
    auto r = drive_anchor(anchor, server, get, n, window, limit);
    check("CAF", r);
    return rate(n, r);
  };

  // Warm up both sides (connections, allocators, the scheduler's threads).
  auto warm = std::min<std::uint64_t>(opts.requests, 5'000);
  troupe_side(warm, 16);
  caf_side(warm, 16);

  const std::uint64_t windows[] = {1, 16};
  std::vector<double> troupe_rates[2], caf_rates[2];
  std::printf("\n%-6s %-12s %12s %12s %6s\n", "round", "outstanding", "troupe req/s",
              "CAF req/s", "ratio");
  for (std::uint64_t round = 0; round < opts.rounds; ++round) {
    for (int m = 0; m < 2; ++m) {
      double t = 0, c = 0;
      if (opts.only != "caf")
        troupe_rates[m].push_back(t = troupe_side(opts.requests, windows[m]));
      if (opts.only != "troupe")
        caf_rates[m].push_back(c = caf_side(opts.requests, windows[m]));
      std::printf("%-6llu %-12llu %12.0f %12.0f %6.2f\n",
                  static_cast<unsigned long long>(round + 1),
                  static_cast<unsigned long long>(windows[m]), t, c, c > 0 ? t / c : 0.0);
      std::fflush(stdout);
    }
  }

  std::printf("\n%-12s %12s %12s %6s %6s  %s\n", "outstanding", "troupe req/s", "CAF req/s",
              "ratio", "goal", "result");
  for (int m = 0; m < 2; ++m) {
    std::vector<double> ratios;
    for (size_t r = 0; r < troupe_rates[m].size() && r < caf_rates[m].size(); ++r)
      ratios.push_back(troupe_rates[m][r] / caf_rates[m][r]);
    auto ratio = median(ratios);
    std::printf("%-12llu %12.0f %12.0f %6.2f %6s  %s\n",
                static_cast<unsigned long long>(windows[m]), median(troupe_rates[m]),
                median(caf_rates[m]), ratio, ">=0.9",
                ratios.empty() ? "-" : ratio >= remote_goal ? "PASS" : "BELOW");
  }
  if (!troupe_rates[0].empty() && !caf_rates[0].empty())
    std::printf("mean round trip at 1 outstanding: troupe %.1f us, CAF %.1f us\n",
                1e6 / median(troupe_rates[0]), 1e6 / median(caf_rates[0]));
  std::printf("load average at end: %s\n", load_average().c_str());
  std::fflush(stdout);

  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  members->stop();
  node.stop();
  return 0;
}
