// The node as the admin API shows it: runtime objects turned into the
// resources of proto/troupe/admin.proto.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "http_server.hpp"
#include "troupe/admin.pb.h"

namespace troupe::runtime {
class node;
struct service_entry;
struct namespace_figures;
struct store_figures;
} // namespace troupe::runtime

namespace troupe::gateway {

/// What the gateway adds to the node's own description.
struct gateway_facts {
  std::string_view http_address;               // the bound address, "127.0.0.1:8080"
  std::chrono::milliseconds request_timeout{};  // the default call deadline
  bool draining = false;                       // shutting down
  server_load load;                            // the HTTP server's bounds and their use
  std::vector<std::string> unready_reasons;    // what /readyz says; empty when ready
};

/// The node as its gateway serves it.
admin::v1::NodeInfo node_info(const runtime::node& node, const gateway_facts& gateway);

/// The modules the node loaded, in load order.
admin::v1::ModuleList module_list(const runtime::node& node);

/// One service: definition, routes, restart policy and live counters.
admin::v1::ServiceInfo service_info(const runtime::service_entry& service);

// -- the state store ----------------------------------------------------------

/// The node's state store as NodeInfo.state_store shows it.
admin::v1::StateStoreInfo state_store_info(const runtime::store_figures& figures);

/// A service's declared state (ServiceInfo.state) with the store's figures of
/// its namespace (zero when the store holds nothing for it yet). Pre: the
/// service declares state.
admin::v1::ServiceStateInfo service_state_info(const runtime::service_entry& service,
                                               const runtime::namespace_figures& figures);

} // namespace troupe::gateway
