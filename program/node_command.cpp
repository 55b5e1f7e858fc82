// `troupe node`: start the runtime and the gateway, serve until SIGINT or
// SIGTERM, then drain in-flight calls and exit 0.
#include <csignal>
#include <cstdio>
#include <pthread.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "options.hpp"
#include "troupe/cluster/cluster.hpp"
#include "troupe/gateway/gateway.hpp"
#include "troupe/runtime/node.hpp"

namespace troupe::cli {

namespace {

/// Blocks SIGINT and SIGTERM in this thread and, by inheritance, in every
/// thread started after it, so that only the sigwait below receives them.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A write to a peer that closed its socket must fail that write, not end
  // the process: the consensus transport (libuv) writes with write(2).
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

/// The node's state store: RocksDB under DATA/state, started from a
/// checkpoint when --restore names one. Opened by the node once it holds its
/// data directory; its faults go to the node's log.
runtime::state_store_factory open_state_store(const node_options& opts) {
  return [dir = std::filesystem::path{opts.node.data_dir} / "state", options = opts.state_store,
          restore = opts.restore](runtime::logger& log) -> std::shared_ptr<runtime::state_store> {
    if (!restore.empty()) {
      persistence::restore_from(restore, dir);
      log.info("state restored from a checkpoint", {{"file.path", restore}});
    }
    auto with_faults = options;
    with_faults.on_fault = [&log](const std::string& fault) {
      log.error("state store fault", {{"error.message", fault}});
    };
    return std::make_shared<persistence::rocksdb_store>(dir, std::move(with_faults));
  };
}

/// The node could not start: its queued log lines go out first, so that the
/// one-line error is the last thing on stderr. Exit status 1.
int start_failed(runtime::node& node, const std::exception& error) {
  node.stop();
  node.log().flush(std::chrono::seconds{1});
  std::fprintf(stderr, "troupe node: %s\n", error.what());
  return 1;
}

} // namespace

int run_node(const std::vector<std::string>& args) {
  node_options opts;
  try {
    opts = parse_node_options(args);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "troupe node: %s\n", e.what());
    return 2;
  }
  if (opts.help) {
    std::fputs(opts.help_text.c_str(), stdout);
    return 0;
  }
  if (opts.version)
    return print_version();
  auto signals = block_shutdown_signals();
  // A node of a cluster: the cluster wraps the state store (handover of
  // durable state between nodes) and adds CAF's middleman to the actor
  // system before the node starts.
  // (The node opens its store in start(), after the cluster's prepare().)
  std::unique_ptr<cluster::cluster> members;
  runtime::state_store_factory store = open_state_store(opts);
  if (opts.cluster.enabled())
    store = [&members, inner = store](runtime::logger& log) {
      return members->wrap_state_store(inner)(log);
    };
  runtime::node node{opts.node, std::move(store)};
  if (opts.cluster.enabled()) {
    members = std::make_unique<cluster::cluster>(node, opts.cluster);
    node.set_cluster_membership(members.get());
    try {
      members->prepare();
    } catch (const std::exception& e) {
      return start_failed(node, e);
    }
  }
  try {
    node.start();
  } catch (const std::exception& e) {
    return start_failed(node, e);
  }
  gateway::gateway gw{node, opts.gateway};
  if (members)
    gw.add_readiness_check([&members] { return members->keyed_unready_reason(); });
  try {
    gw.start();
  } catch (const std::exception& e) {
    return start_failed(node, e);
  }
  if (members) {
    try {
      members->start(gw.endpoint());
    } catch (const std::exception& e) {
      gw.stop();
      return start_failed(node, e);
    }
  }
  auto url = "http://" + gw.endpoint();
  node.log().info("node ready", {{"url.full", url}});
  std::printf("troupe node %s ready: %s\n", opts.node.name.c_str(), url.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  node.log().info("shutting down", {{"process.signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  auto failure = members ? members->failure() : std::string{};
  auto deadline = std::chrono::steady_clock::now() + opts.gateway.shutdown_timeout;
  if (members) {
    // Hand keys and instances over and leave while the gateway still
    // serves: calls through this node go on reaching the keys' new nodes.
    if (!members->leave(deadline))
      node.log().warn("left the cluster without finishing the handover by the shutdown deadline");
    members->stop();
  }
  gw.drain(deadline);
  gw.stop();
  // A handler blocking its thread past the deadline would hold node.stop()
  // forever: a watchdog leaves after a short grace. node.stop() itself stays
  // on this thread, which created the actor system (CAF keeps its logger in
  // thread-local storage of the creating thread until that thread releases it).
  std::promise<void> stopped;
  std::thread watchdog{[&node, &stopped, deadline] {
    auto limit = std::max(deadline, std::chrono::steady_clock::now())
                 + std::chrono::seconds{1};
    if (stopped.get_future().wait_until(limit) != std::future_status::ready) {
      node.log().warn("actors still busy after the shutdown deadline; exiting");
      node.log().flush(std::chrono::seconds{1});
      std::fflush(nullptr);
      std::_Exit(0);
    }
  }};
  node.stop();
  stopped.set_value();
  watchdog.join();
  node.log().info("stopped");
  if (!failure.empty()) {
    std::fprintf(stderr, "troupe node: %s\n", failure.c_str());
    return 1;
  }
  return 0;
}

} // namespace troupe::cli
