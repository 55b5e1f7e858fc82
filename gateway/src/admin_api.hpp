// The admin API: JSON resources under /admin/v1/ (proto/troupe/admin.proto,
// printed by protobuf's JSON mapping with every field shown), read and
// driven by `troupe shell`:
//   GET  /admin/v1/node                         NodeInfo
//   GET  /admin/v1/nodes                        NodeList (this node, until
//                                               clustering arrives)
//   GET  /admin/v1/modules                      ModuleList
//   GET  /admin/v1/services                     ServiceList
//   GET  /admin/v1/services/{name}              ServiceInfo; 404 if unknown
//   POST /admin/v1/services/{name}:reset        clears a failed service;
//                                               answers its ServiceInfo
//   POST /admin/v1/services/{name}/methods/{method}:call?key=K
//        JSON body -> the rpc's reply as JSON, exactly as a route would
//        answer (any rpc, routed or not; key required for keyed services)
#pragma once

#include <chrono>
#include <string>

#include "builtin_endpoint.hpp"
#include "call_forwarder.hpp"
#include "http_server.hpp"
#include "route_template.hpp"
#include "uri.hpp"

namespace troupe::runtime {
class node;
struct service_entry;
} // namespace troupe::runtime

namespace troupe::admin::v1 {
class ServiceInfo;
} // namespace troupe::admin::v1

namespace troupe::gateway {

/// The admin view of one service.
admin::v1::ServiceInfo service_info(const runtime::service_entry& service);

class admin_api {
public:
  /// `node` and `forwarder` must outlive the admin API. `http_address` is
  /// the gateway's bound address ("127.0.0.1:8080"); `request_timeout` its
  /// default call deadline, which NodeInfo tells clients.
  admin_api(runtime::node& node, const call_forwarder& forwarder, std::string http_address,
            std::chrono::milliseconds request_timeout);

  /// Serves one of the admin_* endpoints. `path` is the request path (the
  /// problem documents' instance); `query` its parsed query.
  void serve(builtin_endpoint endpoint, const http_request& request, std::string_view path,
             const path_bindings& bindings, std::span<const query_parameter> query,
             const request_context& context, responder respond) const;

private:
  runtime::node& node_;
  const call_forwarder& forwarder_;
  std::string http_address_;
  std::chrono::milliseconds request_timeout_;
};

} // namespace troupe::gateway
