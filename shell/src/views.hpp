// How the shell shows the admin API's resources: lists as tables, single
// resources as labelled lines. Pure functions of the resource, so what the
// user sees is tested without a node.
#pragma once

#include <string>

#include "troupe/admin.pb.h"

namespace troupe::shell {

/// NAME, HTTP ADDRESS, UPTIME, STATUS.
std::string render_nodes(const admin::v1::NodeList& nodes);

/// One node's name, version, addresses, data directory, uptime, status,
/// default call deadline, and its load against its limits: calls in flight,
/// the mailbox limit, activations, calls shed (and why it sheds now), slow
/// handler runs.
std::string render_node(const admin::v1::NodeInfo& node);

/// NAME, VERSION, SERVICES, PATH.
std::string render_modules(const admin::v1::ModuleList& modules);

/// NAME, KIND, STATUS, ACTORS (a stateless service's instances, a keyed
/// service's activations), RESTARTS, IN-FLIGHT, SHED, SLOW.
std::string render_services(const admin::v1::ServiceList& services);

/// Kind, module, status, counters, restart policy, then each method with its
/// input and output types and its HTTP routes.
std::string render_service(const admin::v1::ServiceInfo& service);

} // namespace troupe::shell
