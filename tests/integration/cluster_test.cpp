// A cluster of real `troupe node` processes on 127.0.0.1: forming it, the
// membership every node lists, keyed calls through any gateway reaching the
// key's one owner, SIGSTOP of a member, graceful leave and drain, refusal of a
// wrong cluster name or secret, mutual TLS on the cluster port and on the
// consensus port. Failover after kill -9 and the fencing of a frozen node:
// cluster_failover_test.cpp.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "support/loopback_ports.hpp"
#include "support/raw_http.hpp"
#include "support/test_pki.hpp"
#include "cluster_members.hpp"
#include "itest_helpers.hpp"

namespace troupe::itest {
namespace {


const std::string secret = "integration-secret";

/// Cluster ports for `n` nodes and the --seeds list naming them all.
struct layout {
  std::vector<std::uint16_t> ports;
  std::string seeds;

  explicit layout(int n) {
    for (int i = 0; i < n; ++i) {
      ports.push_back(test::free_port_pair());
      seeds += (i ? "," : "") + address(ports.back());
    }
  }
};

std::vector<std::string> node_args(const std::string& name, std::uint16_t cluster_port,
                                   const std::string& seeds,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--name",  name,           "--module",
                                counter_module(), "--module", greeter_module(),
                                "--cluster-listen", address(cluster_port), "--seeds",
                                seeds};
  bool has_secret = false;
  for (const auto& e : extra)
    has_secret = has_secret || e == "--cluster-secret";
  if (!has_secret) {
    args.push_back("--cluster-secret");
    args.push_back(secret);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// POST :add through `port`; the new value, or nullopt with `status` set.
std::optional<std::int64_t> try_add(std::uint16_t port, const std::string& key, int* status) {
  try {
    auto r = http_call(port, "POST", "/v1/counters/" + key + ":add", R"({"delta": 1})");
    if (status != nullptr)
      *status = r.status;
    if (r.status != 200)
      return std::nullopt;
    return try_int_field(r.body, "value");
  } catch (const std::exception&) {
    if (status != nullptr)
      *status = 0;
    return std::nullopt;
  }
}

/// The member that owns `key` of the counter, as `port` says.
std::string owner_of(std::uint16_t port, const std::string& key) {
  auto r = http_call(port, "GET", "/admin/v1/services/demo.counter.v1.Counter:where?key=" + key);
  require_json_ok(r);
  return string_field(r.body, "node");
}

/// Runs `troupe node` with `args` (a fresh --data, any HTTP port), which
/// must refuse to start; what it printed on stderr.
std::string refused_start(const std::vector<std::string>& args) {
  std::vector<std::string> argv{TROUPE_BINARY, "node", "--http", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  temp_dir data;
  argv.push_back("--data");
  argv.push_back(data.path());
  auto result = run_command(argv, 20s);
  CHECK(result.exit_code != 0);
  CHECK(result.exit_code != -1);
  return result.err;
}

/// Three nodes forming one cluster, all up.
struct three_nodes {
  layout ports{3};
  std::vector<std::string> names{"n1", "n2", "n3"};
  std::vector<std::unique_ptr<node_process>> nodes;

  explicit three_nodes(std::vector<std::string> extra = {}) {
    for (int i = 0; i < 3; ++i)
      nodes.push_back(std::make_unique<node_process>(
        node_args(names[i], ports.ports[i], ports.seeds, extra)));
    if (!eventually([&] { return all_up(http_ports(), names); }, 600))
      FAIL("three up members were not seen on every node; the nodes said:\n"
           << what_nodes_said(nodes, names));
  }

  std::vector<std::uint16_t> http_ports() const {
    std::vector<std::uint16_t> out;
    for (const auto& n : nodes)
      if (n)
        out.push_back(n->port());
    return out;
  }

  std::size_t index_of(const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name)
        return i;
    FAIL("no node named " << name);
    return 0;
  }
};

std::vector<std::string> keys(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("key-" + std::to_string(i));
  return out;
}

} // namespace

TEST_CASE("cluster: three nodes form one cluster and each lists every member up") {
  three_nodes c;
  for (auto port : c.http_ports()) {
    auto list = admin_get<admin_pb::NodeList>(port, "/admin/v1/nodes");
    REQUIRE(list.nodes_size() == 3);
    int selves = 0;
    int leaders = 0;
    for (const auto& n : list.nodes()) {
      INFO("member " << n.name() << " as seen from port " << port);
      CHECK(n.state() == "up");
      CHECK(n.incarnation() >= 1);
      CHECK_FALSE(n.cluster_address().empty());
      CHECK_FALSE(n.http_address().empty());
      CHECK(n.cluster_name() == "troupe");
      selves += n.self();
      leaders += n.leader();
      if (!n.self())
        CHECK(n.heartbeat_age_ms() >= 0);
    }
    CHECK(selves == 1);
    CHECK(leaders == 1);
  }
  // The first seed formed it; the others said they were admitted.
  CHECK(contains(c.nodes[0]->stderr_text(), "forming cluster troupe"));
  CHECK(contains(c.nodes[1]->stderr_text(), "admitted to the cluster"));
  CHECK(contains(c.nodes[2]->stderr_text(), "admitted to the cluster"));
}

TEST_CASE("cluster: a node started before its seeds retries until they form the cluster") {
  layout ports{2};
  // The second seed starts first: it is not the first seed, so it waits.
  node_process late{node_args("b", ports.ports[1], ports.seeds)};
  REQUIRE(eventually([&] { return contains(late.stderr_text(), "retrying"); }, 100));
  CHECK(state_of(late.port(), "b").empty());
  node_process first{node_args("a", ports.ports[0], ports.seeds)};
  REQUIRE(eventually([&] { return all_up({late.port(), first.port()}, {"a", "b"}); }, 300));
}

TEST_CASE("cluster: a keyed call through any gateway reaches the key's one owner") {
  three_nodes c;
  auto ports = c.http_ports();
  std::map<std::string, int> owned;
  int remote_calls = 0;
  for (const auto& key : keys(12)) {
    auto owner = owner_of(ports[0], key);
    // Every node names the same owner.
    for (auto port : ports)
      REQUIRE(owner_of(port, key) == owner);
    ++owned[owner];
    // One activation of the key in the cluster: the calls through the three
    // gateways count on from each other.
    for (int round = 0; round < 2; ++round)
      for (std::size_t i = 0; i < ports.size(); ++i) {
        INFO("key " << key << " owned by " << owner << ", through " << c.names[i]);
        CHECK(counter_add(ports[i], key, 1)
              == static_cast<std::int64_t>(round * ports.size() + i + 1));
        remote_calls += c.names[i] != owner;
      }
    CHECK(counter_get(ports[(owned.size()) % ports.size()], key) == 6);
  }
  CHECK(remote_calls > 0);
  // Rendezvous hashing spreads twelve keys over more than one node.
  CHECK(owned.size() >= 2);
  // Stateless calls are served by instances on every node.
  std::set<std::string> serving;
  for (int i = 0; i < 60 && serving.size() < 3; ++i) {
    auto r = http_call(ports[0], "GET", "/v1/greetings/Ada");
    require_json_ok(r);
    auto instance = string_field(r.body, "instance");
    serving.insert(instance.substr(0, instance.find('/')));
  }
  CHECK(serving.size() == 3);
}

TEST_CASE("cluster: /admin/v1/services shows each node's instances and share of the keys") {
  three_nodes c;
  auto ports = c.http_ports();
  // Activate twelve keys through one gateway; the owners say where each is.
  std::map<std::string, std::uint64_t> expected;
  for (const auto& key : keys(12)) {
    REQUIRE(counter_add(ports[0], key, 1) == 1);
    ++expected[owner_of(ports[0], key)];
  }
  REQUIRE(expected.size() >= 2);

  // Another member's count arrives with its next heartbeat: poll until every
  // node reports the owners' counts, then check the whole answer.
  auto keys_by_node = [](const admin_pb::ServiceInfo& s) {
    std::map<std::string, std::uint64_t> out;
    for (const auto& on : s.nodes())
      if (on.keys() > 0)
        out[on.node()] += on.keys();
    return out;
  };
  auto counter_of = [](const admin_pb::ServiceList& list) -> const admin_pb::ServiceInfo* {
    for (const auto& s : list.services())
      if (s.name() == "demo.counter.v1.Counter")
        return &s;
    return nullptr;
  };
  for (std::size_t i = 0; i < ports.size(); ++i) {
    INFO("through " << c.names[i]);
    REQUIRE(eventually(
      [&] {
        try {
          auto list = admin_get<admin_pb::ServiceList>(ports[i], "/admin/v1/services");
          const auto* counter = counter_of(list);
          return counter != nullptr && keys_by_node(*counter) == expected;
        } catch (const std::exception&) {
          return false;
        }
      },
      100));
    auto list = admin_get<admin_pb::ServiceList>(ports[i], "/admin/v1/services");
    for (const auto& s : list.services()) {
      INFO("service " << s.name());
      // Every node hosts both services and each is listed once, this one as self.
      REQUIRE(s.nodes_size() == 3);
      std::set<std::string> listed;
      int selves = 0;
      std::uint64_t key_sum = 0;
      for (const auto& on : s.nodes()) {
        listed.insert(on.node());
        CHECK(on.state() == "up");
        selves += on.self();
        if (on.self())
          CHECK(on.node() == c.names[i]);
        key_sum += on.keys();
        if (s.name() == "demo.greeter.v1.Greeter")
          CHECK(on.instances() == 4);
      }
      CHECK(listed == std::set<std::string>(c.names.begin(), c.names.end()));
      CHECK(selves == 1);
      if (s.name() == "demo.counter.v1.Counter") {
        CHECK(key_sum == 12);
        // The node's own entry agrees with the service's own count.
        for (const auto& on : s.nodes())
          if (on.self())
            CHECK(on.keys() == s.active_actors());
      }
    }
    // One service's resource carries the same.
    auto one = admin_get<admin_pb::ServiceInfo>(ports[i], "/admin/v1/services/demo.counter.v1.Counter");
    CHECK(keys_by_node(one) == expected);
  }
}


/// Each up member's instances of test.spread.v1.Spread as the node at `port`
/// lists them; empty while it cannot say.
std::map<std::string, std::uint32_t> spread_listed(std::uint16_t port) {
  std::map<std::string, std::uint32_t> out;
  try {
    auto r = http_call(port, "GET", "/admin/v1/services/test.spread.v1.Spread");
    admin_pb::ServiceInfo info;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (r.status != 200 || !google::protobuf::util::JsonStringToMessage(r.body, &info, options).ok())
      return {};
    for (const auto& on : info.nodes())
      if (on.state() == "up")
        out[on.node()] = on.instances();
  } catch (const std::exception&) {
    return {};
  }
  return out;
}

/// The Spread instances that answer 20 calls through `port`, per node
/// (round robin over every instance the node knows of: 20 calls reach all
/// of up to 20); empty when a call failed.
std::map<std::string, std::set<std::string>> spread_reached(std::uint16_t port) {
  std::map<std::string, std::set<std::string>> out;
  for (int i = 0; i < 20; ++i) {
    try {
      auto r = http_call(port, "GET", "/v1/spread");
      if (r.status != 200)
        return {};
      out[string_field(r.body, "node")].insert(string_field(r.body, "instance"));
    } catch (const std::exception&) {
      return {};
    }
  }
  return out;
}

std::vector<std::uint32_t> sorted_counts(const std::map<std::string, std::uint32_t>& by_node) {
  std::vector<std::uint32_t> out;
  for (const auto& [node, n] : by_node)
    out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("cluster: a service's cluster-wide instances are spread over the up nodes and topped "
          "up when one is killed") {
  three_nodes c({"--module", test_module("spread")});
  auto ports = c.http_ports();
  // Five instances over three nodes: two, two and one. Every node lists the
  // same and calls through any gateway reach all five.
  std::map<std::string, std::uint32_t> listed;
  std::map<std::string, std::set<std::string>> reached;
  auto spread_as = [&](std::uint16_t port, const std::set<std::string>& nodes,
                       const std::vector<std::uint32_t>& counts) {
    listed = spread_listed(port);
    if (sorted_counts(listed) != counts)
      return false;
    for (const auto& [node, n] : listed)
      if (nodes.count(node) == 0)
        return false;
    reached = spread_reached(port);
    std::map<std::string, std::uint32_t> reached_counts;
    for (const auto& [node, instances] : reached)
      reached_counts[node] = static_cast<std::uint32_t>(instances.size());
    return reached_counts == listed;
  };
  auto report = [&] {
    std::ostringstream text;
    for (const auto& [node, n] : listed)
      text << node << " lists " << n << "; ";
    for (const auto& [node, instances] : reached)
      text << node << " answered from " << instances.size() << "; ";
    return text.str();
  };
  std::set<std::string> all(c.names.begin(), c.names.end());
  for (auto port : ports) {
    INFO("through port " << port << ": " << report());
    REQUIRE(eventually([&] { return spread_as(port, all, {1, 2, 2}); }, 100));
  }

  // kill -9 of the node with two: once it is declared down, the two left
  // run five between them, three and two.
  std::size_t victim = 0;
  for (std::size_t i = 0; i < c.names.size(); ++i)
    if (listed[c.names[i]] == 2)
      victim = i;
  c.nodes[victim]->kill_now();
  c.nodes[victim].reset();
  std::set<std::string> survivors = all;
  survivors.erase(c.names[victim]);
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (i == victim)
      continue;
    INFO("through " << c.names[i] << ": " << report());
    REQUIRE(eventually([&] { return spread_as(ports[i], survivors, {2, 3}); }, 300));
  }
}

TEST_CASE("cluster: a frozen node (SIGSTOP) is declared down and rejoins as a new incarnation") {
  three_nodes c;
  auto observer = c.nodes[0]->port();
  std::uint64_t before = 0;
  REQUIRE(state_of(observer, "n3", &before) == "up");
  auto stopped_at = std::chrono::steady_clock::now();
  bool frozen = c.nodes[2]->freeze();
  bool down = frozen && eventually([&] { return state_of(observer, "n3") == "down"; }, 1500, 20ms);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - stopped_at);
  c.nodes[2]->thaw();
  REQUIRE(frozen);
  REQUIRE(down);
  std::printf("cluster: a frozen node was declared down after %lld ms\n",
              static_cast<long long>(took.count()));
  // Its keys are served by the others meanwhile; then it comes back.
  std::uint64_t after = 0;
  if (!eventually([&] { return state_of(observer, "n3", &after) == "up" && after > before; }, 300))
    FAIL("n3 did not rejoin as a new incarnation; the nodes said:\n"
         << what_nodes_said(c.nodes, c.names));
  CHECK(contains(c.nodes[2]->stderr_text(), "rejoining as a new incarnation"));
  // Once it holds a lease again (until then it refuses keyed calls, its
  // own and others'), one activation per key: calls through every gateway
  // count on.
  auto ports = c.http_ports();
  REQUIRE(eventually([&] { return all_up(ports, c.names); }, 300));
  for (const auto& key : keys(6)) {
    std::optional<std::int64_t> first;
    REQUIRE(eventually([&] { return (first = try_add(ports[0], key, nullptr)).has_value(); },
                       100));
    CHECK(counter_add(ports[1], key, 1) == *first + 1);
    CHECK(counter_add(ports[2], key, 1) == *first + 2);
  }
}

TEST_CASE("cluster: SIGTERM hands the node's keys over and it leaves while calls elsewhere go on") {
  three_nodes c;
  auto ports = c.http_ports();
  auto all_keys = keys(12);
  for (const auto& key : all_keys)
    REQUIRE(counter_add(ports[0], key, 1) == 1);
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  std::atomic<int> done{0};
  std::string first_failure;
  std::thread client{[&] {
    for (int round = 0; round < 2000 && !stop; ++round)
      for (const auto& key : all_keys) {
        int status = 0;
        if (try_add(ports[0], key, &status)) {
          ++done;
        } else if (failed++ == 0) {
          first_failure = key + ": HTTP " + std::to_string(status);
        }
      }
  }};
  // Joined however the test ends (a failed REQUIRE throws).
  struct joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~joiner() {
      stop = true;
      if (thread.joinable())
        thread.join();
    }
  } join_client{stop, client};
  REQUIRE(eventually([&] { return done > 20; }, 100));
  CHECK(c.nodes[2]->terminate() == 0);
  REQUIRE(eventually([&] { return state_of(ports[0], "n3") == "removed"; }, 100));
  auto after_leave = done.load();
  REQUIRE(eventually([&] { return done > after_leave + 20; }, 100));
  stop = true;
  client.join();
  INFO("first failed call: " << first_failure);
  CHECK(failed == 0);
  CHECK(contains(c.nodes[2]->stderr_text(), "this node has left the cluster"));
}

TEST_CASE("cluster: drain through the admin API makes a member hand over and leave") {
  three_nodes c;
  auto ports = c.http_ports();
  auto r = http_call(ports[0], "POST", "/admin/v1/nodes/n2:drain", "{}");
  INFO(r.body);
  REQUIRE(r.status == 202);
  REQUIRE(eventually([&] { return state_of(ports[0], "n2") == "removed"; }, 150));
  REQUIRE(eventually([&] { return contains(c.nodes[1]->stderr_text(), "this node was drained"); },
                     100));
  for (const auto& key : keys(6)) {
    CHECK(owner_of(ports[0], key) != "n2");
    CHECK(counter_add(ports[2], key, 1) == 1);
  }
  // It stays out while its process runs on: still removed, not ready.
  CHECK(state_of(ports[2], "n2") == "removed");
  CHECK(http_call(ports[1], "GET", "/readyz").status == 503);
  // A member that does not exist: 404 as a problem document.
  require_problem(http_call(ports[0], "POST", "/admin/v1/nodes/nobody:drain", "{}"), 404);
}

TEST_CASE("cluster: a node with the wrong secret or cluster name is refused, and both say so") {
  layout ports{3};
  node_process a{node_args("a", ports.ports[0], address(ports.ports[0]))};
  bool up = eventually([&] { return state_of(a.port(), "a") == "up"; }, 600);
  INFO(what_node_said(a, "a"));
  REQUIRE(up);
  SECTION("wrong secret") {
    node_process b{node_args("b", ports.ports[1], address(ports.ports[0]),
                             {"--cluster-secret", "not-the-secret"})};
    REQUIRE(eventually([&] { return contains(b.stderr_text(), "wrong cluster secret"); }, 100));
    CHECK(contains(b.stderr_text(), "a seed refused this node"));
    REQUIRE(eventually(
      [&] { return contains(a.stderr_text(), "refused a node with the wrong cluster secret"); },
      100));
    CHECK(state_of(a.port(), "b").empty());
  }
  SECTION("wrong cluster name") {
    node_process b{node_args("b", ports.ports[2], address(ports.ports[0]),
                             {"--cluster-name", "other"})};
    REQUIRE(eventually([&] { return contains(b.stderr_text(), "a seed refused this node"); },
                       100));
    CHECK(contains(b.stderr_text(), "belongs to cluster troupe"));
    REQUIRE(eventually(
      [&] { return contains(a.stderr_text(), "refused a node of another cluster"); }, 100));
    CHECK(state_of(a.port(), "b").empty());
  }
}

TEST_CASE("cluster: without TLS a node warns that its cluster links are unauthenticated") {
  layout ports{1};
  node_process a{node_args("a", ports.ports[0], address(ports.ports[0]))};
  // The log writer's thread prints it, maybe after the node said it is ready.
  CHECK(eventually([&] { return contains(a.stderr_text(), "not authenticated by TLS"); }, 100));
}

TEST_CASE("cluster: a missing TLS file stops the start with one line naming it") {
  layout ports{1};
  auto err = refused_start(node_args("a", ports.ports[0], address(ports.ports[0]),
                                     {"--tls-cert", "/nonexistent/node.pem", "--tls-key",
                                      "/nonexistent/node.key", "--tls-ca", "/nonexistent/ca.pem"}));
  CHECK(contains(err, "/nonexistent/node.pem"));
  CHECK(contains(err, "cannot be read"));
}

namespace {

/// --tls-cert, --tls-key and --tls-ca for node `name`, signed by `pki`.
std::vector<std::string> tls_args(const test::test_pki& pki, const std::string& name) {
  auto issued = pki.issue(name);
  return {"--tls-cert", issued.cert, "--tls-key", issued.key, "--tls-ca", pki.ca()};
}

/// The consensus log's port of a node on cluster port `cluster_port`.
std::uint16_t consensus_port(std::uint16_t cluster_port) {
  return static_cast<std::uint16_t>(cluster_port + 1);
}

/// `openssl s_client` to 127.0.0.1:port, trusting `ca`, presenting `cert`
/// (none when empty); it ends once the handshake is done (stdin is empty).
command_result tls_probe(std::uint16_t port, const std::string& ca,
                         const test::node_certificate& cert = {}) {
  std::vector<std::string> argv{"/usr/bin/openssl", "s_client", "-connect",
                                "127.0.0.1:" + std::to_string(port), "-CAfile", ca,
                                "-verify_return_error", "-brief"};
  if (!cert.cert.empty()) {
    argv.insert(argv.end(), {"-cert", cert.cert, "-key", cert.key});
  }
  return run_command(argv, 20s);
}

/// What raft's TCP transport sends first: protocol 1, server id, the
/// address's padded length, the address.
std::string raft_preamble(std::uint64_t id, std::string address) {
  address.resize((address.size() + 8) / 8 * 8, '\0');
  std::string out;
  for (std::uint64_t v : {std::uint64_t{1}, id, std::uint64_t{address.size()}})
    for (int i = 0; i < 8; ++i)
      out += static_cast<char>(v >> (8 * i));
  return out + address;
}

/// Lines of `log` that say a consensus link was refused or failed.
std::string consensus_refusals(const std::string& log) {
  std::string out;
  for (const auto& line : lines_of(log))
    if (contains(line, "refused a consensus link") || contains(line, "dropped a consensus link")
        || contains(line, "the consensus link to"))
      out += line + "\n";
  return out;
}

} // namespace

TEST_CASE("cluster: over mutual TLS three nodes form one cluster, every gateway reaches every "
          "key, and a killed node and a frozen one rejoin") {
  test::test_pki pki;
  layout ports{3};
  std::vector<std::string> names{"n1", "n2", "n3"};
  std::vector<std::unique_ptr<node_process>> nodes;
  std::vector<std::unique_ptr<temp_dir>> data;
  auto start = [&](std::size_t i) {
    node_process_options options;
    options.data_dir = data[i]->path();
    nodes[i] = std::make_unique<node_process>(
      node_args(names[i], ports.ports[i], ports.seeds, tls_args(pki, names[i])), options);
  };
  for (int i = 0; i < 3; ++i)
    data.push_back(std::make_unique<temp_dir>());
  nodes.resize(3);
  for (std::size_t i = 0; i < 3; ++i)
    start(i);
  auto http = [&] {
    std::vector<std::uint16_t> out;
    for (auto& n : nodes)
      out.push_back(n->port());
    return out;
  };
  if (!eventually([&] { return all_up(http(), names); }, 600))
    FAIL("the TLS nodes did not form one cluster; the nodes said:\n"
         << what_nodes_said(nodes, names));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    INFO(names[i]);
    auto log = nodes[i]->stderr_text();
    CHECK_FALSE(contains(log, "not authenticated by TLS"));
    // The consensus links between the members were made over TLS, none
    // refused (the log formed through them: every node is up).
    CHECK(consensus_refusals(log) == std::string{});
  }

  // Keys of every node, through every gateway (30 keys: that one of three
  // nodes owns none of them has a chance of 3 * (2/3)^30, about 1e-5).
  constexpr int tls_keys = 30;
  std::set<std::string> owners;
  for (int k = 0; k < tls_keys; ++k) {
    auto key = "tls-" + std::to_string(k);
    owners.insert(owner_of(http()[0], key));
    std::int64_t expected = 0;
    for (auto port : http())
      CHECK(counter_add(port, key, 1) == ++expected);
  }
  CHECK(owners.size() == 3);

  // kill -9 of a node; started again on its data it rejoins as a new
  // incarnation, and every gateway reaches every key again (each link
  // re-made over TLS).
  std::uint64_t before = 0;
  REQUIRE(state_of(http()[0], "n3", &before) == "up");
  nodes[2]->kill_now();
  REQUIRE(eventually(
    [&] {
      return state_of(nodes[0]->port(), "n3") == "down"
             && state_of(nodes[1]->port(), "n3") == "down";
    },
    300));
  start(2);
  std::uint64_t after = 0;
  bool back = eventually(
    [&] { return state_of(http()[0], "n3", &after) == "up" && after > before; }, 300);
  back = back && eventually([&] { return all_up(http(), names); }, 300);
  if (!back)
    FAIL("n3 did not rejoin as a new incarnation; the nodes said:\n"
         << what_nodes_said(nodes, names));
  for (int k = 0; k < tls_keys; ++k) {
    auto key = "tls-" + std::to_string(k);
    for (auto port : http())
      REQUIRE(eventually([&] { return try_add(port, key, nullptr).has_value(); }, 100));
  }

  // SIGSTOP of the member that joined last (n3, just restarted) until the
  // others declare it down, then SIGCONT: the same process rejoins as a
  // new incarnation over links it makes again (over TLS only the later
  // member of a pair opens their link: the others never would).
  REQUIRE(state_of(http()[0], "n3", &before) == "up");
  REQUIRE(nodes[2]->freeze());
  bool declared = eventually(
    [&] {
      return state_of(nodes[0]->port(), "n3") == "down"
             && state_of(nodes[1]->port(), "n3") == "down";
    },
    300);
  nodes[2]->thaw();
  REQUIRE(declared);
  back = eventually(
    [&] { return state_of(http()[0], "n3", &after) == "up" && after > before; }, 300);
  back = back && eventually([&] { return all_up(http(), names); }, 300);
  if (!back)
    FAIL("the resumed n3 did not rejoin as a new incarnation; the nodes said:\n"
         << what_nodes_said(nodes, names));
  for (int k = 0; k < tls_keys; ++k) {
    auto key = "tls-" + std::to_string(k);
    for (auto port : http())
      REQUIRE(eventually([&] { return try_add(port, key, nullptr).has_value(); }, 100));
  }
}

TEST_CASE("cluster: a node whose certificate another CA signed is not admitted") {
  test::test_pki pki;
  test::test_pki other{"another-ca"};
  layout ports{2};
  node_process a{node_args("a", ports.ports[0], ports.seeds, tls_args(pki, "a"))};
  REQUIRE(eventually([&] { return all_up({a.port()}, {"a"}); }, 300));
  // b trusts the cluster's CA, but its own certificate is another CA's: the
  // TLS handshake fails on a's side, and b is never a member.
  auto issued = other.issue("b");
  node_process b{node_args("b", ports.ports[1], ports.seeds,
                           {"--tls-cert", issued.cert, "--tls-key", issued.key, "--tls-ca",
                            pki.ca()})};
  // Several join rounds fail (one could fail while a node is admitted).
  const auto refused_rounds = [&] {
    auto text = b.stderr_text();
    std::size_t n = 0;
    for (auto at = text.find("not admitted to the cluster yet"); at != std::string::npos;
         at = text.find("not admitted to the cluster yet", at + 1))
      ++n;
    return n;
  };
  REQUIRE(eventually([&] { return refused_rounds() >= 3; }, 300));
  CHECK(state_of(a.port(), "b").empty());
  CHECK(all_up({a.port()}, {"a"}));
  auto ready = http_call(b.port(), "GET", "/readyz");
  CHECK(ready.status == 503);

  // The consensus port refuses b's certificate too, and a says why.
  REQUIRE(eventually([&] { return contains(a.stderr_text(), "consensus log started"); }, 300));
  tls_probe(consensus_port(ports.ports[0]), pki.ca(), issued);
  bool said = eventually(
    [&] {
      return contains(a.stderr_text(), "refused a consensus link from 127.0.0.1:")
             && contains(a.stderr_text(), "its certificate is not signed by the cluster CA");
    },
    100);
  INFO(consensus_refusals(a.stderr_text()));
  CHECK(said);
}

TEST_CASE("cluster: over mutual TLS the consensus port speaks TLS from the first byte and "
          "refuses what is not a cluster member") {
  test::test_pki pki;
  test::test_pki other{"another-ca"};
  layout ports{1};
  node_process a{node_args("a", ports.ports[0], ports.seeds, tls_args(pki, "a"))};
  REQUIRE(eventually([&] { return all_up({a.port()}, {"a"}); }, 300));
  REQUIRE(eventually([&] { return contains(a.stderr_text(), "consensus log started"); }, 300));
  auto port = consensus_port(ports.ports[0]);

  // A client with the cluster's material completes the TLS handshake and
  // verifies the node's certificate against the cluster CA.
  auto member = tls_probe(port, pki.ca(), pki.issue("probe"));
  INFO("openssl s_client said:\n" << member.out << member.err);
  CHECK(member.exit_code == 0);
  CHECK(contains(member.out + member.err, "Verification: OK"));
  CHECK(contains(member.out + member.err, "TLSv1.3"));
  CHECK(consensus_refusals(a.stderr_text()).empty());

  // A client that trusts another CA does not accept the node's certificate.
  auto stranger = tls_probe(port, other.ca(), other.issue("stranger"));
  INFO("openssl s_client (another CA) said:\n" << stranger.out << stranger.err);
  CHECK(stranger.exit_code != 0);

  // A client without a certificate is refused, and the node says why.
  tls_probe(port, pki.ca());
  CHECK(eventually(
    [&] { return contains(a.stderr_text(), "presented no certificate"); }, 100));

  // Raft's plain preamble gets no answer of the consensus handshake (no
  // "TRA1" challenge): the connection is closed, and the node says why.
  test::raw_connection plain{port};
  plain.send(raft_preamble(42, "127.0.0.1:9"));
  bool closed = false;
  auto received = plain.read_until_closed(15s, closed);
  CHECK(closed);
  CHECK_FALSE(contains(received, "TRA1"));
  CHECK(eventually(
    [&] { return contains(a.stderr_text(), "the TLS handshake failed"); }, 100));
  INFO(consensus_refusals(a.stderr_text()));
  CHECK(all_up({a.port()}, {"a"}));
}

TEST_CASE("cluster: a node started without cluster flags lists itself alone, with no state") {
  node_process a{{"--module", counter_module()}};
  auto list = admin_get<admin_pb::NodeList>(a.port(), "/admin/v1/nodes");
  REQUIRE(list.nodes_size() == 1);
  CHECK(list.nodes(0).state().empty());
  require_problem(
    http_call(a.port(), "GET", "/admin/v1/services/demo.counter.v1.Counter:where?key=k"), 409);
}

TEST_CASE("cluster: a call in flight to a node that dies is answered 503, not held to its deadline") {
  // Each node also loads the faulty module, whose keyed Block holds its
  // shard's thread; the calls get a 60 s deadline.
  layout ports{3};
  std::vector<std::string> names{"n1", "n2", "n3"};
  std::vector<std::unique_ptr<node_process>> nodes;
  for (int i = 0; i < 3; ++i)
    nodes.push_back(std::make_unique<node_process>(
      node_args(names[i], ports.ports[i], ports.seeds,
                {"--module", test_module("faulty"), "--request-timeout", "60s"})));
  std::vector<std::uint16_t> http;
  for (auto& n : nodes)
    http.push_back(n->port());
  REQUIRE(eventually([&] { return all_up(http, names); }, 300));
  // A key owned by n2 or n3, called through n1.
  std::string key;
  std::string owner;
  for (int i = 0; i < 50 && key.empty(); ++i) {
    auto r = http_call(http[0], "GET",
                       "/admin/v1/services/test.faulty.v1.FaultyKeyed:where?key=k" +
                         std::to_string(i));
    require_json_ok(r);
    if (string_field(r.body, "node") != "n1") {
      key = "k" + std::to_string(i);
      owner = string_field(r.body, "node");
    }
  }
  REQUIRE_FALSE(key.empty());
  auto victim = owner == "n2" ? 1 : 2;
  std::atomic<int> status{-1};
  std::thread caller{[&] {
    try {
      status = http_call(http[0], "POST", "/v1/faulty-keyed/" + key + ":block",
                         R"({"path": "/nonexistent/never", "max_millis": 30000})")
                 .status;
    } catch (const std::exception&) {
      status = 0;
    }
  }};
  // The call is in flight once the owner counts it.
  bool in_flight = eventually(
    [&] {
      try {
        auto r = http_call(http[victim], "GET", "/admin/v1/node");
        return r.status == 200 && try_int_field(r.body, "inflight").value_or(0) > 0;
      } catch (const std::exception&) {
        return false;
      }
    },
    100);
  nodes[victim]->kill_now();
  caller.join();
  REQUIRE(in_flight);
  CHECK(status == 503);
}

TEST_CASE("cluster: seeds from DNS: a name that resolves to 127.0.0.1 forms and joins the cluster") {
  // "localhost" resolves to 127.0.0.1 here: its one address on port A is the
  // first (and only) seed, so node a forms the cluster and b joins through it.
  layout ports{2};
  auto dns = "localhost:" + std::to_string(ports.ports[0]);
  auto args = [&](const std::string& name, std::uint16_t port) {
    return std::vector<std::string>{"--name",         name,
                                    "--module",       counter_module(),
                                    "--cluster-listen", address(port),
                                    "--seeds-dns",    dns,
                                    "--cluster-secret", secret};
  };
  node_process a{args("a", ports.ports[0])};
  node_process b{args("b", ports.ports[1])};
  REQUIRE(eventually([&] { return all_up({a.port(), b.port()}, {"a", "b"}); }, 300));
  CHECK(contains(a.stderr_text(), "seeds resolved from DNS"));
  CHECK(contains(a.stderr_text(), "forming cluster troupe"));
  CHECK(contains(b.stderr_text(), "admitted to the cluster"));
}

TEST_CASE("cluster: nodes given host names (localhost) in --cluster-listen and --seeds form "
          "one cluster") {
  // The consensus log takes IPv4 addresses only: the name is resolved at
  // start for it, while the cluster's links keep the name.
  layout ports{2};
  auto named = [](std::uint16_t port) { return "localhost:" + std::to_string(port); };
  auto seeds = named(ports.ports[0]) + "," + named(ports.ports[1]);
  auto args = [&](const std::string& name, std::uint16_t port) {
    return std::vector<std::string>{"--name",           name,          "--module",
                                    counter_module(),   "--cluster-listen", named(port),
                                    "--seeds",          seeds,         "--cluster-secret",
                                    secret};
  };
  node_process a{args("a", ports.ports[0])};
  node_process b{args("b", ports.ports[1])};
  if (!eventually([&] { return all_up({a.port(), b.port()}, {"a", "b"}); }, 600))
    FAIL("two up members were not seen on both nodes; a said:\n"
         << a.stderr_text() << "\nb said:\n" << b.stderr_text());
  auto consensus_address = "\"troupe.cluster.raft_address\":\"127.0.0.1:"
                           + std::to_string(ports.ports[0] + 1);
  CHECK(eventually([&] { return contains(a.stderr_text(), consensus_address); }, 100));
  for (int i = 0; i < 4; ++i) {
    auto key = "named-" + std::to_string(i);
    CHECK(try_add(a.port(), key, nullptr) == 1);
    CHECK(try_add(b.port(), key, nullptr) == 2);
  }
}

TEST_CASE("cluster: an IPv6 cluster address stops the start with one line: the consensus log "
          "takes IPv4") {
  layout ports{1};
  auto listen = "[::1]:" + std::to_string(ports.ports[0]);
  auto err = refused_start(
    {"--cluster-listen", listen, "--seeds", listen, "--cluster-secret", secret});
  CHECK(contains(err, "--cluster-listen " + listen + ": ::1 is an IPv6 address"));
}

} // namespace troupe::itest
