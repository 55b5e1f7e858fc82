#include "troupe/runtime/node.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/node_id.hpp>
#include <caf/send.hpp>

#include <google/protobuf/descriptor.h>

#include "crash_report.hpp"
#include "keyed_shard.hpp"
#include "messages.hpp"
#include "node_load.hpp"
#include "reply_mapping.hpp"
#include "local_directory.hpp"
#include "remote_relay.hpp"
#include "stateless_instance.hpp"
#include "supervision_options.hpp"
#include "state_options.hpp"
#include "state_type.hpp"
#include "troupe/options.pb.h"
#include "troupe/runtime/memory_state_store.hpp"
#include "troupe/runtime/module_loader.hpp"
#include "troupe/runtime/scheduler_settings.hpp"
#include "troupe/runtime/state_schema.hpp"

namespace troupe::runtime {

namespace {

constexpr std::uint32_t default_instances = 4;
constexpr std::uint32_t default_blocking_threads = 4;
constexpr std::uint32_t max_blocking_threads = 256;
constexpr std::uint32_t max_cluster_instances = 1024;
// How long a retiring instance waits, past its grace, for its calls in
// flight before it stops anyway (node::scale).
constexpr std::chrono::seconds retire_patience{30};

class actor_system_settings : public caf::actor_system_config {
public:
  explicit actor_system_settings(size_t threads) {
    add_message_type<envelope>("troupe.envelope");
    add_message_type<reply_envelope>("troupe.reply_envelope");
    apply_scheduler_settings(*this, threads);
  }
};

/// The ownership a node has before a cluster publishes one: every key is
/// this node's (never consulted: the shards look only once one is published).
class sole_ownership final : public key_ownership {
public:
  std::uint64_t epoch() const noexcept override {
    return 0;
  }
  bool settled() const noexcept override {
    return true;
  }
  status lease() const override {
    return {};
  }
  verdict check(std::string_view, std::string_view, std::uint64_t) const override {
    return verdict::serve;
  }
};

/// Holds an exclusive lock on the data directory for the node's lifetime,
/// so that two nodes never share one.
class data_dir_lock {
public:
  explicit data_dir_lock(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw startup_error("data directory " + dir + ": " + ec.message());
    auto path = (std::filesystem::path{dir} / "LOCK").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw startup_error("data directory " + dir + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw startup_error("data directory " + dir + " is in use by another node");
    }
  }
  ~data_dir_lock() {
    ::close(fd_);
  }
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

private:
  int fd_ = -1;
};

} // namespace

// One place for an instance of a stateless service: the counts its actor
// keeps (shared by the actors that run in this place in turn, so that the
// service's figures stay bounded however often it is scaled), the actor in
// it now, and the ticket that settles whether a retiring actor stops or is
// taken back (retire_instance): 0 stopped, odd retiring, even serving.
struct instance_slot {
  std::shared_ptr<host_load> load;
  std::shared_ptr<sharded_counter::slot> calls;
  caf::actor actor;
  std::shared_ptr<std::atomic<std::uint64_t>> ticket =
    std::make_shared<std::atomic<std::uint64_t>>(0);
  bool serving = false;
};

// One service's actors on this node: fixed for keyed and blocking
// services; a non-blocking stateless service's are the serving slots'.
struct service_actors {
  const service_entry* entry = nullptr;
  std::vector<caf::actor> actors;
  std::vector<caf::actor_addr> detached;  // see local_directory.hpp
  std::vector<host_load*> loads;
  std::vector<instance_slot> slots;
};

struct node::impl {
  impl(node_config cfg, state_store_factory open)
    : config(std::move(cfg)), log(config.name, config.level), open_state(std::move(open)) {
  }

  node_config config;
  logger log;
  // Declaration order is teardown order reversed: module code must stay
  // loaded until the services and actors using it are gone.
  std::vector<loaded_module> loaded;
  std::vector<module_info> modules;
  service_table services;
  std::unique_ptr<data_dir_lock> lock;
  std::unique_ptr<actor_system_settings> caf_config;
  state_store_factory open_state;
  std::shared_ptr<state_store> state;
  std::unique_ptr<caf::actor_system> system;
  // The actors read the directory from their first message on: it exists
  // (empty) before they are spawned, and the local one is published after.
  published<directory> directories{std::make_shared<runtime::local_directory>()};
  // Guards hosting, local and hosted: scale() replaces them while the
  // cluster's agent and the admin API read them.
  mutable std::mutex hosting_mtx;
  std::vector<service_actors> hosting;  // in the order of services.entries()
  std::shared_ptr<const runtime::local_directory> local;
  std::vector<hosted_service> hosted;
  bool directory_handed_in = false;  // publish_directory() was called
  std::uint64_t tickets = 0;         // the last ticket handed out (instance_slot)
  std::vector<caf::actor> keyed_shards;
  std::vector<actor_system_setup> setups;
  relay_set relays;  // calls to actors of other nodes
  cluster_membership* membership = nullptr;  // the admin API's view of the cluster
  published<key_ownership> ownership{std::make_shared<sole_ownership>()};
  std::atomic<bool> ownership_on{false};
  caf::node_id local_node;  // this process's CAF node, to tell remote actors
  // The bounds on the node's load; made when the services are spawned.
  std::unique_ptr<node_load> load;
  // The actors of blocking services, which the directories hold weakly
  // (local_directory.hpp): their only strong handles, dropped at stop.
  std::vector<caf::actor> detached;
  std::atomic<bool> running{false};
  std::chrono::system_clock::time_point started_at;

  void load_modules();
  void open_state_store();
  void open_state_namespaces();
  void spawn_services();
  host_context context_for(const service_entry& entry, std::shared_ptr<host_load> own);
  void start_instance(service_actors& service, std::size_t place);
  // Makes local and hosted from hosting, and publishes local unless a
  // directory was handed in. Under hosting_mtx.
  void rebuild_local();

  size_t scheduler_threads() const {
    return config.scheduler_threads > 0
             ? config.scheduler_threads
             : std::max<size_t>(1, std::thread::hardware_concurrency());
  }
};

void node::impl::load_modules() {
  for (auto& path : config.modules) {
    for (auto& m : loaded)
      if (m.path == std::filesystem::absolute(path).string())
        throw startup_error("module " + path + ": loaded twice");
    auto mod = load_module(path);
    module_info info{mod.name, mod.version, mod.path, {}};
    for (auto& def : mod.services) {
      auto entry = std::make_unique<service_entry>();
      entry->name = def.descriptor->full_name();
      entry->descriptor = def.descriptor;
      entry->module = mod.name;
      auto& opts = def.descriptor->options().GetExtension(troupe::service);
      entry->kind = opts.kind() == troupe::KEYED ? service_kind::keyed
                                                 : service_kind::stateless;
      entry->blocking = opts.blocking();
      if (entry->blocking)
        entry->threads = std::min(max_blocking_threads,
                                  opts.threads() > 0     ? opts.threads()
                                  : opts.instances() > 0 ? opts.instances()
                                                         : default_blocking_threads);
      if (opts.cluster_instances() > 0) {
        auto refuse = [&](const std::string& why) {
          throw startup_error("module " + path + ": service " + entry->name
                              + ": cluster_instances " + why);
        };
        if (entry->kind != service_kind::stateless)
          refuse("is for STATELESS services only");
        if (entry->blocking)
          refuse("cannot be used with blocking (a blocking service has threads per node)");
        if (opts.instances() > 0)
          refuse("and instances cannot both be set (one counts the cluster's, the other "
                 "each node's)");
        if (opts.cluster_instances() > max_cluster_instances)
          refuse("is more than " + std::to_string(max_cluster_instances));
        entry->cluster_instances = opts.cluster_instances();
      }
      // Keyed services have activations, not a fixed instance count; a
      // blocking stateless service has an instance per thread; one whose
      // instances the cluster spreads runs all of them until the cluster
      // says otherwise (a node alone runs them all).
      entry->instances = entry->kind == service_kind::keyed ? 0
                         : entry->blocking                  ? entry->threads
                         : entry->cluster_instances > 0     ? entry->cluster_instances
                         : opts.instances() > 0             ? opts.instances()
                                                            : default_instances;
      if (entry->kind == service_kind::keyed)
        entry->max_activations = opts.max_activations();
      entry->stats->slow_methods =
        std::vector<std::atomic<bool>>(static_cast<std::size_t>(def.descriptor->method_count()));
      entry->idle_timeout = opts.idle_timeout_ms() > 0
                              ? std::chrono::milliseconds{opts.idle_timeout_ms()}
                              : config.idle_timeout;
      entry->policy = restart_policy_from(opts.restart());
      if (entry->kind == service_kind::keyed)
        entry->key_monitor = std::make_shared<key_failure_monitor>(
          entry->policy, key_supervision_from(opts.key_supervision()));
      else
        entry->tracker = std::make_shared<restart_tracker>(entry->policy);
      entry->definition = def;
      if (troupe::options::declares_state(*def.descriptor)) {
        entry->state_type = troupe::options::declared_state_type(*def.descriptor);
        if (entry->state_type == nullptr || entry->kind != service_kind::keyed)
          throw startup_error("module " + path + ": service " + entry->name
                              + ": state type \"" + opts.state().type()
                              + "\" is not a message this module defines, or the service "
                                "is not KEYED");
        entry->state_options = state_options_from(opts.state());
        describe_state(*entry->state_type, entry->state_options);
        if (troupe::options::declares_journal(*def.descriptor)) {
          entry->event_type = troupe::options::declared_event_type(*def.descriptor);
          if (entry->event_type == nullptr)
            throw startup_error("module " + path + ": service " + entry->name
                                + ": journal event type \"" + opts.state().journal().event()
                                + "\" is not a message this module defines");
          entry->snapshot_every = troupe::options::snapshot_every(opts.state().journal());
          entry->truncate_journal = opts.state().journal().truncate();
          describe_events(*entry->event_type, entry->state_options);
        }
      }
      if (troupe::options::declares_key_value(*def.descriptor)) {
        if (entry->kind != service_kind::stateless)
          throw startup_error("module " + path + ": service " + entry->name
                              + ": kv is declared, but the service is not STATELESS");
        entry->key_value = true;
        entry->state_options = key_value_options_from(opts.kv());
      }
      if (auto* other = services.find(entry->name))
        throw startup_error("module " + path + ": service " + entry->name
                            + " is already registered by module " + other->module);
      info.services.push_back(entry->name);
      services.add(std::move(entry));
    }
    modules.push_back(std::move(info));
    loaded.push_back(std::move(mod));
  }
}

void node::impl::open_state_store() {
  if (!open_state) {
    state = std::make_shared<memory_state_store>();
    return;
  }
  try {
    state = open_state(log);
  } catch (const std::exception& e) {
    throw startup_error(e.what());
  }
  if (!state)
    throw startup_error("the state store could not be opened");
}

void node::impl::open_state_namespaces() {
  for (auto& entry : services.entries()) {
    if (entry->state_type == nullptr && !entry->key_value)
      continue;
    if (auto opened = state->open_namespace(entry->name, entry->state_options);
        !opened.is_ok()) {
      state.reset();
      throw startup_error("service " + entry->name + ": its state cannot be kept: "
                          + opened.message());
    }
  }
}

void node::impl::spawn_services() {
  // Several shards per thread: a handler that blocks (it must not) holds up
  // only its own shard's keys, and the other shards run on the other threads.
  auto shards = config.keyed_shards > 0 ? config.keyed_shards : 4 * scheduler_threads();
  // A blocking service's actors each get a thread of their own (CAF's
  // detached actors): its threads are its actors, a bounded pool, and its
  // blocked handlers never take a scheduler thread from the other services.
  const auto actors_of = [&](const service_entry& entry) -> std::size_t {
    if (entry.blocking)
      return entry.threads;
    return entry.kind == service_kind::keyed ? shards : entry.instances;
  };
  std::size_t hosts = 0;
  for (auto& entry : services.entries())
    hosts += actors_of(*entry);
  load = std::make_unique<node_load>(config, hosts);
  std::lock_guard guard{hosting_mtx};
  for (auto& entry : services.entries()) {
    auto& service = hosting.emplace_back();
    service.entry = entry.get();
    for (std::size_t i = 0; i < actors_of(*entry); ++i) {
      auto own = std::make_shared<host_load>(load->budget(), *entry);
      entry->stats->hosts.push_back(own);
      if (entry->kind == service_kind::stateless && !entry->blocking) {
        auto& slot = service.slots.emplace_back();
        slot.load = std::move(own);
        slot.calls = entry->stats->calls.new_slot();
        start_instance(service, i);
        continue;
      }
      service.loads.push_back(own.get());
      auto ctx = context_for(*entry, std::move(own));
      caf::actor actor;
      if (entry->kind == service_kind::keyed) {
        actor = entry->blocking ? system->spawn<keyed_shard, caf::detached>(std::move(ctx))
                                : system->spawn<keyed_shard>(std::move(ctx));
        load->add_shard(actor.address(), *service.loads.back());
        keyed_shards.push_back(actor);
      } else {
        auto name = config.name + "/" + entry->name + "#" + std::to_string(i);
        actor = system->spawn<stateless_instance, caf::detached>(std::move(ctx), name);
      }
      if (entry->blocking) {
        service.detached.push_back(actor.address());
        detached.push_back(std::move(actor));
      } else {
        service.actors.push_back(std::move(actor));
      }
    }
    entry->stats->instances.store(static_cast<std::uint32_t>(
      entry->kind == service_kind::stateless ? actors_of(*entry) : 0));
  }
  // Publishing orders the loads and the shards' list before every call.
  rebuild_local();
}

host_context node::impl::context_for(const service_entry& entry, std::shared_ptr<host_load> own) {
  return host_context{&entry,      &config.name,  &directories, state.get(),
                      &log,        &relays,       &ownership,   &ownership_on,
                      load.get(),  std::move(own), nullptr};
}

void node::impl::start_instance(service_actors& service, std::size_t place) {
  auto& slot = service.slots[place];
  auto ctx = context_for(*service.entry, slot.load);
  ctx.calls = slot.calls;
  auto name = config.name + "/" + service.entry->name + "#" + std::to_string(place);
  slot.ticket = std::make_shared<std::atomic<std::uint64_t>>(tickets += 2);
  slot.actor = system->spawn<stateless_instance>(std::move(ctx), std::move(name));
  slot.serving = true;
}

void node::impl::rebuild_local() {
  auto built = std::make_shared<runtime::local_directory>();
  hosted.clear();
  for (auto& service : hosting) {
    auto host = std::make_unique<service_host>();
    host->entry = service.entry;
    host->actors = service.actors;
    host->detached = service.detached;
    host->loads = service.loads;
    for (auto& slot : service.slots)
      if (slot.serving) {
        host->actors.push_back(slot.actor);
        host->loads.push_back(slot.load.get());
      }
    std::vector<caf::actor> all;  // in index order: what other nodes call
    for (std::size_t i = 0; i < host->size(); ++i)
      all.push_back(host->actor(i));
    hosted.push_back(hosted_service{service.entry, std::move(all)});
    built->add(std::move(host));
  }
  local = built;
  if (!directory_handed_in)
    directories.publish(std::move(built));
}

node::node(node_config config, state_store_factory open_state)
  : impl_(std::make_unique<impl>(std::move(config), std::move(open_state))) {
  // nop
}

node::~node() {
  stop();
}

void node::start() {
  auto& d = *impl_;
  install_crash_report(d.config.name);
  d.lock = std::make_unique<data_dir_lock>(d.config.data_dir);
  d.load_modules();
  d.open_state_store();
  d.open_state_namespaces();
  d.caf_config = std::make_unique<actor_system_settings>(d.scheduler_threads());
  for (auto& setup : d.setups)
    setup(*d.caf_config);
  d.system = std::make_unique<caf::actor_system>(*d.caf_config);
  d.local_node = d.system->node();
  // Relays before the services: a handler may call another node at once.
  for (size_t i = 0; i < std::max<size_t>(2, d.scheduler_threads()); ++i)
    d.relays.add(d.system->spawn<remote_relay>(&d.directories));
  d.spawn_services();
  d.started_at = std::chrono::system_clock::now();
  d.running = true;
  for (auto& m : d.modules)
    d.log.info("module loaded", {{"troupe.module", m.name},
                                 {"troupe.module.version", m.version},
                                 {"file.path", m.path}});
}

namespace {

/// Sends `env` to where `dir` says `service` (and env.key) is served: an
/// actor of another node through a relay (remote_relay.hpp); a local one
/// unless it or the node is at a bound: then refuses it at once.
void send_call(const std::atomic<bool>& running, node_load* bounds, const directory& dir,
               const relay_set& relays, const caf::node_id& local_node,
               std::string_view service, envelope env, call_callback done) {
  if (!running.load(std::memory_order_relaxed)) {
    done(to_reply(status{status_code::unavailable, "the node is stopping"}));
    return;
  }
  auto target = dir.resolve(service, env.key);
  if (!target.error.is_ok()) {
    done(to_reply(target.error));
    return;
  }
  if (relay_set::is_remote(target.actor, local_node)) {
    bool idempotent = env.idempotent;
    // Counted in flight where it arrives (the envelope's `admitted` does
    // not cross nodes).
    caf::anon_send(relays.next(), relayed_call{std::move(target.actor), std::move(env),
                                               completion{std::move(done)},
                                               idempotent ? std::string{service}
                                                          : std::string{}});
    return;
  }
  if (target.load != nullptr) {
    if (auto refused = bounds->admit(*target.load, env); !refused.is_ok()) {
      auto answer = to_reply(refused);
      answer.retry_after_ms = static_cast<std::uint32_t>(shed_retry_after.count());
      done(std::move(answer));
      return;
    }
  }
  caf::anon_send(target.actor, local_call{std::move(env), completion{std::move(done)}});
}

} // namespace

void node::call(std::string_view service, envelope env, call_callback done) {
  auto& d = *impl_;
  send_call(d.running, d.load.get(), *d.directories.load(), d.relays, d.local_node, service,
            std::move(env),
            std::move(done));
}

node::caller::caller(node& owner) : node_(&owner), view_(owner.impl_->directories) {
}

void node::caller::call(std::string_view service, envelope env, call_callback done) {
  auto& d = *node_->impl_;
  send_call(d.running, d.load.get(), view_.get(), d.relays, d.local_node, service,
            std::move(env), std::move(done));
}

node::caller node::make_caller() {
  return caller{*this};
}

void node::publish_directory(std::shared_ptr<const directory> next) {
  auto& d = *impl_;
  std::lock_guard guard{d.hosting_mtx};
  d.directory_handed_in = true;
  d.directories.publish(std::move(next));
}

std::optional<std::uint32_t> node::scale(std::string_view service, std::uint32_t count,
                                         std::chrono::milliseconds grace) {
  auto& d = *impl_;
  std::lock_guard guard{d.hosting_mtx};
  if (!d.system || !d.running)
    return std::nullopt;
  auto i = std::find_if(d.hosting.begin(), d.hosting.end(), [&](const service_actors& s) {
    return s.entry->name == service;
  });
  if (i == d.hosting.end() || i->entry->cluster_instances == 0)
    return std::nullopt;
  auto& slots = i->slots;
  count = std::min<std::uint32_t>(count, static_cast<std::uint32_t>(slots.size()));
  auto before = i->entry->stats->instances.load();
  if (count == before)
    return count;
  // The first `count` places serve, so that the instances that go are the
  // last ones started and a place comes back under the same name.
  for (std::size_t place = 0; place < slots.size(); ++place) {
    auto& slot = slots[place];
    bool wanted = place < count;
    if (wanted && !slot.serving) {
      auto issued = slot.ticket->load();
      if (slot.actor && issued % 2 == 1
          && slot.ticket->compare_exchange_strong(issued, d.tickets += 2))
        slot.serving = true;  // taken back before it stopped
      else
        d.start_instance(*i, place);
    } else if (!wanted && slot.serving) {
      slot.serving = false;
      auto issued = (d.tickets += 2) + 1;
      slot.ticket->store(issued);
      caf::delayed_anon_send(slot.actor, grace,
                             retire_instance{slot.ticket, issued,
                                             std::chrono::steady_clock::now() + grace
                                               + retire_patience});
    }
  }
  i->entry->stats->instances.store(count);
  d.rebuild_local();
  d.log.info("service scaled", {{"troupe.service", i->entry->name},
                                {"troupe.service.instances_before", std::to_string(before)},
                                {"troupe.service.instances", std::to_string(count)}});
  return count;
}

void node::fail_calls_to(const caf::node_id& lost, std::string why) {
  for (const auto& relay : impl_->relays.all())
    caf::anon_send(relay, node_declared_down{lost, why});
}

std::shared_ptr<const directory> node::local_directory() const {
  std::lock_guard guard{impl_->hosting_mtx};
  return impl_->local;
}

std::vector<hosted_service> node::hosted_services() const {
  std::lock_guard guard{impl_->hosting_mtx};
  return impl_->hosted;
}

void node::add_actor_system_setup(actor_system_setup setup) {
  impl_->setups.push_back(std::move(setup));
}

void node::publish_ownership(std::shared_ptr<const key_ownership> next,
                             std::function<void()> fenced) {
  auto& d = *impl_;
  d.ownership.publish(std::move(next));
  d.ownership_on.store(true, std::memory_order_release);
  if (d.keyed_shards.empty()) {
    if (fenced)
      fenced();
    return;
  }
  auto countdown = std::make_shared<fence_countdown>(d.keyed_shards.size(), std::move(fenced));
  for (auto& shard : d.keyed_shards)
    caf::anon_send(shard, ownership_fence{countdown});
}

void node::set_cluster_membership(cluster_membership* membership) noexcept {
  impl_->membership = membership;
}

cluster_membership* node::membership() const noexcept {
  return impl_->membership;
}

state_store& node::state() noexcept {
  return *impl_->state;
}

void node::stop() {
  auto& d = *impl_;
  if (!d.system)
    return;
  std::unique_lock guard{d.hosting_mtx};
  d.running = false;
  if (d.local)
    for (auto& a : d.local->all_actors())
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  for (auto& service : d.hosting)
    for (auto& slot : service.slots)
      if (slot.actor && !slot.serving)  // retiring (the serving ones are in local)
        caf::anon_send_exit(slot.actor, caf::exit_reason::user_shutdown);
  for (auto& relay : d.relays.all())
    caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
  // The directories hold actor handles: drop them before the system goes.
  d.directories.publish(std::make_shared<runtime::local_directory>());
  d.ownership.publish(std::make_shared<sole_ownership>());
  d.local.reset();
  d.hosted.clear();
  d.hosting.clear();
  guard.unlock();
  d.keyed_shards.clear();
  d.relays.clear();
  d.detached.clear();
  d.system->await_all_actors_done();
  d.system.reset();
  d.caf_config.reset();
}

const node_config& node::config() const noexcept {
  return impl_->config;
}

const service_table& node::services() const noexcept {
  return impl_->services;
}

const std::vector<module_info>& node::modules() const noexcept {
  return impl_->modules;
}

std::chrono::system_clock::time_point node::started_at() const noexcept {
  return impl_->started_at;
}

logger& node::log() noexcept {
  return impl_->log;
}

const logger& node::log() const noexcept {
  return impl_->log;
}

bool node::reset_service(const std::string& name) {
  auto* entry = impl_->services.find(name);
  if (entry == nullptr)
    return false;
  if (entry->tracker)
    entry->tracker->reset();
  if (entry->key_monitor)
    entry->key_monitor->reset();  // quarantines included
  entry->stats->failed.store(false);
  impl_->log.info("service reset by operator", {{"troupe.service", name}});
  return true;
}

std::string node::shedding() const {
  auto* load = impl_->load.get();
  return load != nullptr ? load->shedding() : std::string{};
}

node::load_counts node::load() const {
  load_counts counts;
  for (const auto& entry : impl_->services.entries()) {
    const auto& stats = *entry->stats;
    counts.inflight += stats.inflight();
    counts.calls_shed += stats.calls_shed();
    counts.slow_calls += stats.slow_calls.load(std::memory_order_relaxed);
  }
  if (impl_->load)
    counts.activations = impl_->load->activations();
  return counts;
}

caf::actor node::resolve(std::string_view service, std::string_view key) const {
  return impl_->directories.load()->resolve(service, key).actor;
}

caf::actor_system& node::system() {
  return *impl_->system;
}

} // namespace troupe::runtime
