// Private Linux network namespaces for tests that cut nodes off from each
// other: each node gets a namespace of its own, joined by a veth pair to a
// hub namespace that holds two bridges. A node whose port is on bridge 0
// reaches every other node on bridge 0 and none on bridge 1, so moving ports
// between the bridges makes and heals a network partition as a real one looks
// to the nodes (packets vanish; nothing is refused).
//
// Every address lives only inside these namespaces: the host's interfaces
// are untouched, and a node's HTTP gateway binds 127.0.0.1 of its own
// namespace. Creating namespaces needs CAP_NET_ADMIN (root outside a
// restricted container); without it the constructor throws not_permitted.
// The namespaces are deleted when the object goes away, and namespaces left
// behind by a test process that no longer runs are deleted by the next one.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::test {

class network_namespaces {
public:
  /// Thrown when this machine does not let the test create namespaces.
  struct not_permitted : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  /// `nodes` namespaces, all ports on bridge 0; node i has address(i).
  explicit network_namespaces(int nodes);
  ~network_namespaces();

  network_namespaces(const network_namespaces&) = delete;
  network_namespaces& operator=(const network_namespaces&) = delete;

  /// The IPv4 address of node i inside the namespaces ("10.213.0.<i+1>").
  std::string address(int node) const;

  /// The name of node i's namespace (for `ip netns exec` and enter).
  const std::string& name(int node) const {
    return nodes_.at(static_cast<std::size_t>(node));
  }

  /// Moves node i's port to bridge `side` (0 or 1).
  void place(int node, int side);

  /// While alive, the calling thread is in node i's namespace: sockets it
  /// opens and processes it forks are there (and stay there).
  class scope {
  public:
    scope(const network_namespaces& net, int node);
    ~scope();
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

  private:
    int home_ = -1;
  };

private:
  void ip(const std::vector<std::string>& args);

  std::string hub_;
  std::vector<std::string> nodes_;
  std::vector<std::string> created_;
};

} // namespace troupe::test
