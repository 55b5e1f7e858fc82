#include "troupe/cluster/cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/publish.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/send.hpp>

#include "agent.hpp"
#include "connector.hpp"
#include "consensus_address.hpp"
#include "handover.hpp"
#include "membership.hpp"
#include "ownership.hpp"
#include "placement.hpp"
#include "port_check.hpp"
#include "raft_host.hpp"
#include "secret.hpp"
#include "troupe/runtime/memory_state_store.hpp"
#include "wire.hpp"

namespace troupe::cluster {

// -- host_port --------------------------------------------------------------------

std::string host_port::text() const {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

host_port parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument("expected HOST:PORT (e.g. 127.0.0.1:7100), got '" + text + "'");
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port_text = text.substr(colon + 1);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size())
      throw std::invalid_argument("");
  } catch (...) {
    throw std::invalid_argument("expected HOST:PORT with a port number, got '" + text + "'");
  }
  if (port > 65535)
    throw std::invalid_argument("port out of range in '" + text + "'");
  return {host, static_cast<std::uint16_t>(port)};
}

namespace {

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Reads a PEM file the way CAF's OpenSSL module will: a missing, unreadable
/// or malformed file stops the start here, with its name, rather than make
/// every link hang.
void check_pem(const std::string& option, const std::string& path, bool key) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr)
    throw std::runtime_error("--" + option + " " + path + ": cannot be read");
  bool ok = false;
  if (key) {
    EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    ok = k != nullptr;
    EVP_PKEY_free(k);
  } else {
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    ok = x != nullptr;
    X509_free(x);
  }
  std::fclose(f);
  if (!ok)
    throw std::runtime_error("--" + option + " " + path + ": not a PEM "
                             + (key ? "private key" : "certificate"));
}

/// This node's lasting identity in DATA/cluster/identity: its raft id and
/// the cluster and name it joined with.
struct identity {
  std::uint64_t raft_id = 0;
};

identity load_identity(const std::filesystem::path& dir, const std::string& cluster,
                       const std::string& name) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("data directory " + dir.string() + ": " + ec.message());
  auto path = dir / "identity";
  identity id;
  std::ifstream in{path};
  if (in) {
    std::string line;
    std::string stored_cluster;
    std::string stored_name;
    while (std::getline(in, line)) {
      auto space = line.find(' ');
      if (space == std::string::npos)
        continue;
      auto key = line.substr(0, space);
      auto value = line.substr(space + 1);
      if (key == "raft_id")
        id.raft_id = std::strtoull(value.c_str(), nullptr, 10);
      else if (key == "cluster")
        stored_cluster = value;
      else if (key == "name")
        stored_name = value;
    }
    if (id.raft_id == 0)
      throw std::runtime_error(path.string() + " is damaged (no raft_id line)");
    if (stored_cluster != cluster)
      throw std::runtime_error("data directory belongs to cluster " + stored_cluster + ", not "
                               + cluster + " (" + path.string() + ")");
    if (stored_name != name)
      throw std::runtime_error("data directory belongs to node " + stored_name + ", not " + name
                               + " (" + path.string() + ")");
    return id;
  }
  id.raft_id = random_id();
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << "raft_id " << id.raft_id << "\ncluster " << cluster << "\nname " << name << "\n";
    out.flush();
    if (!out)
      throw std::runtime_error(tmp.string() + ": cannot be written");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw std::runtime_error(path.string() + ": " + ec.message());
  return id;
}

} // namespace

struct cluster::impl {
  impl(runtime::node& n, cluster_config c) : node(n), config(std::move(c)) {
  }

  runtime::node& node;
  cluster_config config;
  bool prepared = false;
  bool tls = false;
  std::uint64_t raft_id = 0;
  std::uint64_t process_id = 0;
  std::shared_ptr<lease_state> lease = std::make_shared<lease_state>();
  std::unique_ptr<handover> handovers;
  std::unique_ptr<raft_host> raft;
  // Opens the log for the agent (start_raft), joined by stop() before it
  // touches `raft`.
  std::mutex starter_mtx;
  std::thread starter;     // under starter_mtx
  bool stopping = false;   // under starter_mtx
  std::unique_ptr<connector> links;
  agent_context ctx;
  caf::actor agent_actor;

  mutable std::mutex view_mtx;
  std::shared_ptr<const cluster_view> view = std::make_shared<cluster_view>();
  std::shared_ptr<const v1::Membership> membership;

  mutable std::mutex left_mtx;
  std::condition_variable left_cv;
  bool left = false;
  std::string failure;  // under left_mtx: why the node must stop

  host_port advertised() const {
    return config.advertise.port != 0 ? config.advertise : config.listen;
  }

  // The hosts of the consensus log's addresses (consensus_address.hpp), set
  // by prepare().
  std::string consensus_listen_host;
  std::string consensus_advertise_host;

  /// Where the consensus log is reached: the advertised host, on the cluster
  /// port + 1.
  std::string consensus_address() const {
    return host_port{consensus_advertise_host, static_cast<std::uint16_t>(advertised().port + 1)}
      .text();
  }

  void start_raft(bool bootstrap) {
    raft_host::settings s;
    s.dir = (std::filesystem::path{node.config().data_dir} / "raft").string();
    s.id = raft_id;
    s.address = consensus_address();
    if (consensus_listen_host != consensus_advertise_host)
      s.bind_address =
        host_port{consensus_listen_host, static_cast<std::uint16_t>(config.listen.port + 1)}
          .text();
    s.cluster_name = config.name;
    s.secret = config.secret;
    if (tls) {
      s.tls_cert = config.tls_cert;
      s.tls_key = config.tls_key;
      s.tls_ca = config.tls_ca;
    }
    s.election_timeout_ms = static_cast<unsigned>(config.election_timeout.count());
    s.heartbeat_ms = static_cast<unsigned>(config.raft_heartbeat.count());
    s.bootstrap = bootstrap;
    raft_host::callbacks cb;
    // Weak: the consensus outlives the agent until stop(), and a strong
    // handle would keep the agent's (detached) thread from ending.
    auto target = agent_actor.address();
    cb.applied = [target](std::shared_ptr<const v1::Membership> m, std::string note) {
      if (auto agent = caf::actor_cast<caf::actor>(target))
        caf::anon_send(agent, membership_update{std::move(m), std::move(note)});
    };
    cb.leadership_changed = [target, &log = node.log(),
                             elected_in = std::uint64_t{0}](leadership l) mutable {
      // Logged here too, on the consensus thread: whether raft elected this
      // node tells a stalled election from an agent that did not act on it.
      if (l.self && l.term != elected_in) {
        elected_in = l.term;
        log.info("the consensus log elected this node",
                 {{"troupe.cluster.term", l.term}, {"troupe.cluster.component", "consensus"}});
      }
      if (auto agent = caf::actor_cast<caf::actor>(target))
        caf::anon_send(agent, leadership_update{std::move(l)});
    };
    cb.warn = [&log = node.log()](const std::string& line) {
      log.warn(line, {{"troupe.cluster.component", "consensus"}});
    };
    raft = std::make_unique<raft_host>(std::move(s), std::move(cb));
    ctx.raft = raft.get();
    raft->start();
  }
};

cluster::cluster(runtime::node& node, cluster_config config)
  : impl_(std::make_unique<impl>(node, std::move(config))) {
}

cluster::~cluster() {
  stop();
}

void cluster::prepare() {
  auto& d = *impl_;
  auto& c = d.config;
  if (c.listen.port == 0)
    throw std::runtime_error("--cluster-listen: a port is needed");
  if (c.listen.port == 65535)
    throw std::runtime_error("--cluster-listen: the consensus log takes the next port; "
                             "choose a port below 65535");
  if (c.advertise.port == 0 && (c.listen.host == "0.0.0.0" || c.listen.host == "::"))
    throw std::runtime_error("--cluster-listen " + c.listen.text()
                             + ": a wildcard address needs --cluster-advertise HOST:PORT");
  d.consensus_listen_host = consensus_host(c.listen.host, "--cluster-listen " + c.listen.text());
  d.consensus_advertise_host =
    c.advertise.port != 0
      ? consensus_host(c.advertise.host, "--cluster-advertise " + c.advertise.text())
      : d.consensus_listen_host;
  // Both ports before anything starts: the consensus log binds its port
  // only once the node has joined.
  if (auto why = bind_check(c.listen.host, c.listen.port); !why.empty())
    throw std::runtime_error("--cluster-listen " + c.listen.text() + ": cannot listen: " + why);
  auto raft_port = static_cast<std::uint16_t>(c.listen.port + 1);
  if (auto why = bind_check(c.listen.host, raft_port); !why.empty())
    throw std::runtime_error("--cluster-listen " + c.listen.text() + ": the consensus log's port "
                             + std::to_string(raft_port) + " (the cluster port + 1): " + why);
  if (c.secret.empty())
    throw std::runtime_error("a cluster needs a shared secret: --cluster-secret or "
                             "--cluster-secret-file");
  bool any_tls = !c.tls_cert.empty() || !c.tls_key.empty() || !c.tls_ca.empty();
  if (any_tls) {
    if (c.tls_cert.empty() || c.tls_key.empty() || c.tls_ca.empty())
      throw std::runtime_error("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca");
    check_pem("tls-cert", c.tls_cert, false);
    check_pem("tls-key", c.tls_key, true);
    check_pem("tls-ca", c.tls_ca, false);
    d.tls = true;
  }
  auto id = load_identity(std::filesystem::path{d.node.config().data_dir} / "cluster", c.name,
                          d.node.config().name);
  d.raft_id = id.raft_id;
  d.process_id = random_id();
  d.handovers = std::make_unique<handover>(d.raft_id, d.process_id, d.node.log());
  d.node.add_actor_system_setup([tls = d.tls, c](caf::actor_system_config& cfg) {
    cfg.load<caf::io::middleman>();
    if (tls) {
      cfg.load<caf::openssl::manager>();
      cfg.openssl_certificate = c.tls_cert;
      cfg.openssl_key = c.tls_key;
      cfg.openssl_cafile = c.tls_ca;
    }
    cfg.add_message_type<cluster_wire>("troupe.cluster_wire");
    cfg.add_message_type<cluster_catalog_request>("troupe.cluster_catalog_request");
    cfg.add_message_type<cluster_catalog>("troupe.cluster_catalog");
    cfg.add_message_type<std::vector<caf::actor>>("troupe.actor_list");
    cfg.add_message_type<std::vector<std::vector<caf::actor>>>("troupe.actor_lists");
  });
  d.prepared = true;
}

runtime::state_store_factory cluster::wrap_state_store(runtime::state_store_factory inner) {
  return [d = impl_.get(), inner = std::move(inner)](runtime::logger& log) {
    std::shared_ptr<runtime::state_store> store =
      inner ? inner(log) : std::make_shared<runtime::memory_state_store>();
    return d->handovers->wrap(std::move(store));
  };
}

void cluster::start(std::string http_address) {
  auto& d = *impl_;
  if (!d.prepared)
    throw std::logic_error("cluster::start() before prepare()");
  auto& node = d.node;
  auto& system = node.system();
  if (!d.tls)
    node.log().warn("the cluster's links are not authenticated by TLS: any process that can "
                    "reach the cluster port and knows the secret takes part; set --tls-cert, "
                    "--tls-key and --tls-ca");
  // Until it is up in the cluster, the node serves no keyed call.
  node.publish_ownership(std::make_shared<cluster_ownership>(
    d.raft_id, 0, std::vector<std::shared_ptr<const placement>>{}, d.lease, false,
    "this node has not joined the cluster yet"));

  auto& ctx = d.ctx;
  ctx.node = &node;
  ctx.config = &d.config;
  ctx.name = node.config().name;
  ctx.raft_id = d.raft_id;
  ctx.process_id = d.process_id;
  ctx.started_at_unix_ms = unix_ms_now();
  ctx.cluster_address = d.advertised().text();
  ctx.raft_address = d.consensus_address();
  ctx.http_address = std::move(http_address);
  ctx.tls = d.tls;
  for (const auto& entry : node.services().entries()) {
    v1::HostedService s;
    s.set_name(entry->name);
    s.set_keyed(entry->kind == runtime::service_kind::keyed);
    s.set_durable(entry->state_type != nullptr);
    s.set_instances(entry->instances);
    s.set_cluster_instances(entry->cluster_instances);
    ctx.services.push_back(std::move(s));
  }
  auto raft_dir = (std::filesystem::path{node.config().data_dir} / "raft").string();
  ctx.has_log = raft_host::has_log(raft_dir);
  d.links = std::make_unique<connector>(system, d.tls);
  ctx.links = d.links.get();
  ctx.lease = d.lease;
  ctx.handovers = d.handovers.get();
  ctx.view_mtx = &d.view_mtx;
  ctx.view = &d.view;
  ctx.membership = &d.membership;
  ctx.left = [d = impl_.get()] {
    {
      std::lock_guard guard{d->left_mtx};
      d->left = true;
    }
    d->left_cv.notify_all();
  };
  ctx.start_raft = [d = impl_.get()](bool bootstrap) {
    std::lock_guard guard{d->starter_mtx};
    if (d->stopping || d->starter.joinable())
      return;
    d->starter = std::thread{[d, bootstrap] {
      auto began = std::chrono::steady_clock::now();
      try {
        d->start_raft(bootstrap);
        auto took = std::chrono::steady_clock::now() - began;
        d->node.log().info(
          "consensus log started",
          {{"troupe.cluster.raft_address", d->consensus_address()},
           {"event.duration", std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()}});
      } catch (const std::exception& e) {
        d->node.log().error("the consensus log cannot start; stopping",
                            {{"error.message", e.what()}});
        {
          std::lock_guard guard{d->left_mtx};
          d->failure = std::string{"the consensus log cannot start: "} + e.what();
        }
        ::kill(::getpid(), SIGTERM);
      }
    }};
  };
  d.agent_actor = system.spawn<agent, caf::detached>(&ctx);
  // Publish the agent on the cluster port: the only actor other nodes reach
  // by address; the rest they learn from its catalog.
  auto published = d.tls ? caf::openssl::publish(d.agent_actor, d.config.listen.port,
                                                 d.config.listen.host.c_str(), true)
                         : caf::io::publish(d.agent_actor, d.config.listen.port,
                                            d.config.listen.host.c_str(), true);
  if (!published) {
    caf::anon_send_exit(d.agent_actor, caf::exit_reason::user_shutdown);
    throw std::runtime_error("--cluster-listen " + d.config.listen.text() + ": "
                             + system.render(published.error()));
  }
  if (ctx.has_log) {
    try {
      d.start_raft(false);
    } catch (const std::exception& e) {
      caf::anon_send_exit(d.agent_actor, caf::exit_reason::user_shutdown);
      throw std::runtime_error(std::string{"the consensus log: "} + e.what());
    }
  }
  caf::anon_send(d.agent_actor, tick_atom::value);
  node.log().info("cluster link listening",
                  {{"troupe.cluster", d.config.name},
                   {"troupe.cluster.address", ctx.cluster_address},
                   {"troupe.cluster.raft_address", ctx.raft_address},
                   {"troupe.cluster.tls", d.tls ? "true" : "false"}});
}

bool cluster::leave(std::chrono::steady_clock::time_point deadline) {
  auto& d = *impl_;
  if (!d.agent_actor)
    return true;
  caf::anon_send(d.agent_actor, leave_atom::value);
  std::unique_lock lock{d.left_mtx};
  return d.left_cv.wait_until(lock, deadline, [&] { return d.left; });
}

std::string cluster::failure() const {
  std::lock_guard guard{impl_->left_mtx};
  return impl_->failure;
}

void cluster::stop() {
  auto& d = *impl_;
  if (d.agent_actor) {
    caf::anon_send_exit(d.agent_actor, caf::exit_reason::user_shutdown);
    d.agent_actor = nullptr;
  }
  if (d.links)
    d.links->stop();
  std::thread starter;
  {
    std::lock_guard guard{d.starter_mtx};
    d.stopping = true;
    starter = std::move(d.starter);
  }
  if (starter.joinable())
    starter.join();
  if (d.raft)
    d.raft->stop(true);
}

std::shared_ptr<const cluster_view> cluster::view() const {
  std::lock_guard guard{impl_->view_mtx};
  return impl_->view;
}

key_location cluster::where(std::string_view service, std::string_view key) const {
  std::shared_ptr<const v1::Membership> m;
  {
    std::lock_guard guard{impl_->view_mtx};
    m = impl_->membership;
  }
  key_location where;
  if (!m) {
    where.error = "this node has not joined the cluster yet";
    return where;
  }
  placement placed{*m};
  auto* candidates = placed.candidates(service);
  if (candidates == nullptr) {
    where.error = "no member hosts a keyed service named " + std::string{service};
    return where;
  }
  auto owner = rendezvous_owner(*candidates, key);
  where.durable = placed.durable(service);
  if (owner == 0) {
    where.error = "no up member hosts service " + std::string{service};
    return where;
  }
  if (const auto* member = find_member(*m, owner)) {
    where.node = member->name();
    where.state = std::string{state_name(member->state())};
  }
  return where;
}

std::string cluster::request_drain(const std::string& name) {
  auto& d = *impl_;
  std::shared_ptr<const v1::Membership> m;
  {
    std::lock_guard guard{d.view_mtx};
    m = d.membership;
  }
  if (!m || !d.agent_actor)
    return "this node has not joined the cluster yet";
  const auto* member = find_member(*m, name);
  if (member == nullptr)
    return "no member named " + name;
  if (member->state() != v1::UP)
    return name + " is " + std::string{state_name(member->state())} + ", not up";
  caf::anon_send(d.agent_actor, drain_atom::value, name);
  return {};
}

std::string cluster::keyed_unready_reason() const {
  auto& d = *impl_;
  std::shared_ptr<const v1::Membership> m;
  {
    std::lock_guard guard{d.view_mtx};
    m = d.membership;
  }
  const auto* self = m ? find_member(*m, d.raft_id) : nullptr;
  if (self == nullptr || self->process_id() != d.process_id)
    return "not joined to the cluster yet: keyed actors are not served";
  if (self->state() != v1::UP && self->state() != v1::LEAVING)
    return "this node is " + std::string{state_name(self->state())}
           + " in the cluster: keyed actors are not served";
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  if (now >= d.lease->until_ns.load(std::memory_order_acquire))
    return "no lease from the cluster's majority (cut off, or a minority): keyed actors are "
           "not served";
  return {};
}

runtime::cluster_summary cluster::summary() const {
  auto v = view();
  runtime::cluster_summary out;
  out.name = v->cluster_name;
  out.epoch = v->epoch;
  out.serving_keys = keyed_unready_reason().empty();
  for (const auto& m : v->members) {
    runtime::cluster_member r;
    r.name = m.name;
    r.state = m.state;
    r.incarnation = m.incarnation;
    r.cluster_address = m.cluster_address;
    r.http_address = m.http_address;
    r.started_at_unix_ms = m.started_at_unix_ms;
    r.changed_at_unix_ms = m.changed_at_unix_ms;
    r.heartbeat_age_ms = m.heartbeat_age_ms;
    r.self = m.self;
    r.leader = m.leader;
    r.voter = m.voter;
    r.linked = m.linked;
    for (const auto& load : m.services)
      r.services.push_back({load.name, load.instances, load.active_actors});
    out.members.push_back(std::move(r));
  }
  return out;
}

runtime::key_placement cluster::locate(std::string_view service, std::string_view key) const {
  auto w = where(service, key);
  runtime::key_placement out;
  if (!w.error.empty()) {
    out.error = status{w.error.rfind("no member hosts", 0) == 0 ? status_code::not_found
                                                               : status_code::failed_precondition,
                       w.error};
    return out;
  }
  out.node = w.node;
  out.node_state = w.state;
  auto v = view();
  for (const auto& m : v->members)
    if (m.name == w.node)
      out.http_address = m.http_address;
  return out;
}

status cluster::drain_member(const std::string& name) {
  auto why = request_drain(name);
  if (why.empty())
    return {};
  if (why.rfind("no member named", 0) == 0)
    return status{status_code::not_found, why};
  return status{status_code::failed_precondition, why};
}

} // namespace troupe::cluster

namespace troupe::cluster {

void cluster::remove(const std::string& name, std::function<void(status)> done) {
  auto& d = *impl_;
  std::shared_ptr<const v1::Membership> m;
  {
    std::lock_guard guard{d.view_mtx};
    m = d.membership;
  }
  if (!m || !d.agent_actor) {
    done(status{status_code::failed_precondition, "this node has not joined the cluster yet"});
    return;
  }
  const auto* member = find_member(*m, name);
  if (member == nullptr) {
    done(status{status_code::not_found, "no member named " + name});
    return;
  }
  // Checked here too, for the answer's code: the leader checks again.
  if (auto why = why_not_removable(*member); !why.empty()) {
    done(status{status_code::failed_precondition, std::move(why)});
    return;
  }
  caf::anon_send(d.agent_actor, remove_request{name, std::move(done)});
}

} // namespace troupe::cluster
