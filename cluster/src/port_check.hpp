// Whether this process could listen on a TCP address now, asked before the
// node starts: a port taken by another process must stop the start with one
// line naming it, and the consensus log's port (the cluster port + 1) is
// otherwise only bound once the node has joined, when a failure can no
// longer be told to whoever started the node.
#pragma once

#include <cstdint>
#include <string>

namespace troupe::cluster {

/// Empty when a socket can be bound to `host`:`port` now (and was closed
/// again); else why not, in words (the system's error text). The port may
/// still be taken between this check and the real bind: the real bind
/// reports its own error.
std::string bind_check(const std::string& host, std::uint16_t port);

} // namespace troupe::cluster
