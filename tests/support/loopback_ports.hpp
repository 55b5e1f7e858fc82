// Ports on 127.0.0.1 for nodes that must be told theirs before they start: a
// cluster node's link and consensus ports are in its seed lists and in the
// other nodes' flags, so port 0 (the kernel's pick) does not do there.
#pragma once

#include <cstdint>

namespace troupe::test {

/// True when `port` on 127.0.0.1 can be bound now.
bool loopback_port_free(std::uint16_t port);

/// A port P with P and P + 1 free on 127.0.0.1 now (a node's cluster link
/// and its consensus log), never one this process was given before. Picked
/// below Linux's ephemeral range (32768-60999), so that the kernel does not
/// hand it to other processes' connections or port-0 listeners meanwhile.
/// Throws when 500 tries found none.
std::uint16_t free_port_pair();

} // namespace troupe::test
