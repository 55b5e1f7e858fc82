#include "support/network_namespaces.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>

#include "support/node_process.hpp"

namespace troupe::test {
namespace {

const std::string prefix = "troupe-partition-";

std::string ip_binary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (::access(path, X_OK) == 0)
      return path;
  return {};
}

command_result run_ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ip_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds{10});
}

std::string joined(const std::vector<std::string>& args) {
  std::string out = "ip";
  for (const auto& a : args)
    out += " " + a;
  return out;
}

/// Deletes the namespaces of test processes that ended without deleting
/// theirs (killed at a ctest timeout, say): names carry the creator's pid.
void delete_stale() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0)
      continue;
    auto pid = std::atoi(name.c_str() + prefix.size());
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH)
      continue;
    run_ip({"netns", "del", name});
  }
}

} // namespace

network_namespaces::network_namespaces(int nodes) {
  if (ip_binary().empty())
    throw not_permitted("the ip command (iproute2) is not installed");
  delete_stale();
  auto base = prefix + std::to_string(::getpid()) + "-";
  hub_ = base + "hub";
  auto created = run_ip({"netns", "add", hub_});
  if (created.exit_code != 0)
    throw not_permitted("cannot create a network namespace: " + created.err);
  created_.push_back(hub_);
  try {
    for (int side = 0; side < 2; ++side) {
      auto bridge = "br" + std::to_string(side);
      ip({"-n", hub_, "link", "add", bridge, "type", "bridge"});
      ip({"-n", hub_, "link", "set", bridge, "up"});
    }
    for (int i = 0; i < nodes; ++i) {
      auto ns = base + "n" + std::to_string(i);
      ip({"netns", "add", ns});
      created_.push_back(ns);
      nodes_.push_back(ns);
      auto port = "p" + std::to_string(i);
      ip({"link", "add", "veth0", "netns", ns, "type", "veth", "peer", "name", port, "netns",
          hub_});
      ip({"-n", hub_, "link", "set", port, "master", "br0"});
      ip({"-n", hub_, "link", "set", port, "up"});
      ip({"-n", ns, "link", "set", "lo", "up"});
      ip({"-n", ns, "addr", "add", address(i) + "/24", "dev", "veth0"});
      ip({"-n", ns, "link", "set", "veth0", "up"});
    }
  } catch (...) {
    for (const auto& ns : created_)
      run_ip({"netns", "del", ns});
    throw;
  }
}

network_namespaces::~network_namespaces() {
  // Deleting a namespace deletes the veth ends and bridges inside it.
  for (auto i = created_.rbegin(); i != created_.rend(); ++i)
    run_ip({"netns", "del", *i});
}

std::string network_namespaces::address(int node) const {
  return "10.213.0." + std::to_string(node + 1);
}

void network_namespaces::place(int node, int side) {
  ip({"-n", hub_, "link", "set", "p" + std::to_string(node), "master",
      "br" + std::to_string(side)});
}

void network_namespaces::ip(const std::vector<std::string>& args) {
  auto result = run_ip(args);
  if (result.exit_code != 0)
    throw std::runtime_error(joined(args) + " failed: " + result.err);
}

network_namespaces::scope::scope(const network_namespaces& net, int node) {
  home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_ < 0)
    throw std::runtime_error(std::string{"cannot open this thread's network namespace: "}
                             + std::strerror(errno));
  auto path = "/run/netns/" + net.name(node);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    auto error = std::string{std::strerror(errno)};
    if (fd >= 0)
      ::close(fd);
    ::close(home_);
    throw std::runtime_error("cannot enter " + path + ": " + error);
  }
  ::close(fd);
}

network_namespaces::scope::~scope() {
  // Back to where the thread was; failing here would leave the test talking
  // into the wrong namespace, so it ends the process loudly.
  if (::setns(home_, CLONE_NEWNET) != 0)
    std::terminate();
  ::close(home_);
}

} // namespace troupe::test
