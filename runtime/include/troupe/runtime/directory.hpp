// Where a call goes: the directory resolves (service, key) to the actor that
// serves it now. Every call the runtime makes — from the gateway through
// node::call, from a handler through call_context::call — is resolved by the
// node's current directory, and the runtime never asks who built it.
//
// The node-local directory (the services this node hosts; runtime/src/
// local_directory) is the first implementation. A cluster publishes its own,
// which places keys and instances on the cluster's nodes and hands out the
// local directory's actors for what this node owns.
//
// A directory is an immutable snapshot: where calls go changes by publishing
// a new one (node::publish_directory), never by changing one in place, so a
// reader needs no lock while membership changes (see published.hpp).
#pragma once

#include <string_view>

#include <caf/actor.hpp>

#include "troupe/status.hpp"

namespace troupe::runtime {

class host_load;

/// The actor a call goes to, or why there is none.
struct call_target {
  status error;      // not ok: no target; answer the caller with this
  caf::actor actor;  // valid when error is ok; local, or a proxy of a remote one
  // A local actor's load, which the caller counts the call against before
  // sending it (host_load.hpp); null for a remote actor. Valid as long as
  // the directory that resolved it.
  host_load* load = nullptr;
};

class directory {
public:
  virtual ~directory();

  /// The actor serving `key` of `service` now (`key` is empty for a stateless
  /// service). Errors: unavailable when no actor serves the service (or the
  /// service failed), invalid_argument for a keyed service without a valid
  /// key. Safe from any thread; never blocks.
  virtual call_target resolve(std::string_view service, std::string_view key) const = 0;
};

} // namespace troupe::runtime
