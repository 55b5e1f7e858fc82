// The node as the admin API shows it: runtime objects turned into the
// resources of proto/troupe/admin.proto.
#pragma once

#include <string_view>

#include "troupe/admin.pb.h"

namespace troupe::runtime {
class node;
struct service_entry;
} // namespace troupe::runtime

namespace troupe::gateway {

/// The node; `http_address` is the gateway's bound address, `draining`
/// whether it is shutting down.
admin::v1::NodeInfo node_info(const runtime::node& node, std::string_view http_address,
                              bool draining);

/// The modules the node loaded, in load order.
admin::v1::ModuleList module_list(const runtime::node& node);

/// One service: definition, routes, restart policy and live counters.
admin::v1::ServiceInfo service_info(const runtime::service_entry& service);

} // namespace troupe::gateway
