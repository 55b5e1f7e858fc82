// Which keys of its keyed services this node may serve now. The runtime
// declares it; a cluster implements it (cluster/) and publishes a snapshot per
// membership change with node::publish_ownership(). A node that never gets one
// serves every key (one node, nobody to share keys with).
//
// The keyed shards ask before they serve a call:
//   1. lease(): does the node hold a lease under the current membership? A
//      node frozen (SIGSTOP) or cut off from the cluster's majority loses it
//      before the others place its keys elsewhere, so it answers nothing from
//      an activation it had — not even a call already in its mailbox. Checked
//      on every call: it must be a clock read, not a lock.
//   2. check(service, key, since): is the key this node's, and has it been so
//      without a break since epoch `since` (the epoch the shard last verified
//      its activations at; 0 for a key with no activation)?
//
// Like a directory, a snapshot is immutable apart from the lease clock; a new
// one replaces it (node::publish_ownership), and the shards drop the
// activations the new one does not let them keep before the node reports the
// snapshot fenced.
#pragma once

#include <cstdint>
#include <string_view>

#include "troupe/status.hpp"

namespace troupe::runtime {

class key_ownership {
public:
  enum class verdict : std::uint8_t {
    serve,      // this node's key, continuously since `since`
    wait,       // this node's key under the current membership, but another
                // node may still serve it under an earlier one: hold the call
                // until a later snapshot settles it
    elsewhere,  // another node's key now
  };

  virtual ~key_ownership();

  /// The membership epoch this snapshot places keys under.
  virtual std::uint64_t epoch() const noexcept = 0;

  /// True when every node has taken up epoch() (or lost its lease), so that a
  /// call for another node's key can be sent on to it without bouncing back.
  virtual bool settled() const noexcept = 0;

  /// ok while this node holds its lease; otherwise unavailable, naming why.
  /// Any thread; cheap (an atomic and a clock read).
  virtual status lease() const = 0;

  /// Where `key` of keyed `service` stands for this node; `since` is 0 for a
  /// key without an activation here, else the epoch its activation was last
  /// verified at. Any thread; never blocks.
  virtual verdict check(std::string_view service, std::string_view key,
                        std::uint64_t since) const = 0;
};

} // namespace troupe::runtime
