// The consensus log's addresses. libraft 0.15 parses the addresses it
// listens on and connects to as IPv4 literals only ("a.b.c.d:port"), so a
// host name given in --cluster-listen or --cluster-advertise (localhost, a
// DNS name) is resolved once, at start, to an IPv4 address for it; the
// cluster's CAF links keep the name as given. A host with no IPv4 address
// (an IPv6 literal, a name that does not resolve) stops the start with one
// line, rather than the consensus log failing once the node has joined.
#pragma once

#include <string>

namespace troupe::cluster {

/// `host` as the consensus log takes it: an IPv4 literal as it is, a name
/// resolved to its first IPv4 address. Throws std::runtime_error, its
/// what() one line that starts with `where` (the flag and its value).
std::string consensus_host(const std::string& host, const std::string& where);

} // namespace troupe::cluster
