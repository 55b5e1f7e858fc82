// The admin API: JSON resources under /admin/v1/ (proto/troupe/admin.proto,
// printed by protobuf's JSON mapping with every field shown; see
// admin_resources.hpp), read and driven by `troupe shell`. One handler per
// endpoint:
//   GET  /admin/v1/node                         NodeInfo
//   GET  /admin/v1/nodes                        NodeList: every member of the
//                                               cluster (this node alone when
//                                               it runs alone)
//   GET  /admin/v1/modules                      ModuleList
//   GET  /admin/v1/services                     ServiceList
//   GET  /admin/v1/services/{name}              ServiceInfo; 404 if unknown
//   POST /admin/v1/services/{name}:reset        clears a failed service;
//                                               answers its ServiceInfo
//   POST /admin/v1/services/{name}/methods/{method}:call?key=K
//        JSON body -> the rpc's reply as JSON, exactly as a route would
//        answer (any rpc, routed or not; key required for keyed services)
//   GET  /admin/v1/services/{name}/journal/{key}?from=N&limit=M
//        JournalPage: a page of a key's event journal (admin_journal.hpp)
// The state store (admin_state_api.cpp; NodeInfo.state_store and
// ServiceInfo.state show its figures):
//   GET    /admin/v1/services/{name}/state/{key}
//        StoredState: the key's state as stored, its version, the state
//        message in its JSON mapping; 404 when nothing is stored
//   DELETE /admin/v1/services/{name}/state/{key}
//        removes it (logged as a warning naming service, key and caller);
//        answers the StoredState removed, 404 when nothing was stored
//   POST   /admin/v1/state:backup   {"dir": "/absolute/path"}
//        writes a checkpoint of the store while it serves; answers Backup
//        once complete; 409 when dir holds something, 400 when it is not
//        absolute or its parent is missing, 503 while another runs
//   GET  /admin/v1/services/{name}:where?key=K  KeyLocation: the member that
//                                               owns the key (409 alone)
//   POST /admin/v1/nodes/{name}:drain           202 DrainAccepted: the member
//                                               hands its keys over, leaves
//   POST /admin/v1/nodes/{name}:remove          NodeRemoved once the cluster
//                                               agreed: a down member is gone
//                                               for good, its durable keys'
//                                               state given up (logged as a
//                                               warning naming the caller);
//                                               404 unknown, 409 not down
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include "builtin_endpoint.hpp"
#include "troupe/admin.pb.h"
#include "call_forwarder.hpp"
#include "http_server.hpp"
#include "readiness.hpp"
#include "route_template.hpp"
#include "uri.hpp"

namespace troupe::runtime {
class node;
struct service_entry;
} // namespace troupe::runtime

namespace troupe::gateway {

/// What an admin endpoint's handler gets of its request.
struct admin_request {
  const http_request& http;
  std::string_view path;  // the request path: the instance of problem documents
  const path_bindings& bindings;
  std::span<const query_parameter> query;
  const request_context& context;
};

class admin_api {
public:
  /// `node`, `forwarder`, `server` and `ready` must outlive the admin API.
  /// `http_address` is the gateway's bound address ("127.0.0.1:8080");
  /// `request_timeout` its default call deadline, which NodeInfo tells
  /// clients, with the server's load and what /readyz would answer.
  admin_api(runtime::node& node, const call_forwarder& forwarder, std::string http_address,
            std::chrono::milliseconds request_timeout, const http_server& server,
            const readiness& ready);

  /// Serves `endpoint`, one of the admin_* endpoints.
  void serve(builtin_endpoint endpoint, const admin_request& request, responder respond) const;

private:
  void get_node(const admin_request& request, responder respond) const;
  void get_nodes(const admin_request& request, responder respond) const;
  void get_modules(const admin_request& request, responder respond) const;
  void get_services(const admin_request& request, responder respond) const;
  void get_service(const admin_request& request, responder respond) const;
  void reset_service(const admin_request& request, responder respond) const;
  void call_method(const admin_request& request, responder respond) const;
  // The state store's endpoints (admin_state_api.cpp).
  void get_state(const admin_request& request, responder respond) const;
  void delete_state(const admin_request& request, responder respond) const;
  void backup(const admin_request& request, responder respond) const;
  /// The keyed service with declared state the path names, and its key;
  /// null, with a 404 sent, when there is none.
  const runtime::service_entry* find_state(const admin_request& request,
                                           const responder& respond,
                                           std::string& key) const;
  void key_location(const admin_request& request, responder respond) const;
  void drain_node(const admin_request& request, responder respond) const;
  void remove_node(const admin_request& request, responder respond) const;
  /// This node as NodeInfo, now.
  admin::v1::NodeInfo this_node(const admin_request& request) const;
  /// `service` as ServiceInfo, now, with its state's figures.
  admin::v1::ServiceInfo service_resource(const runtime::service_entry& service) const;

  /// The service the path names; null, with a 404 sent, when there is none.
  const runtime::service_entry* find_service(const admin_request& request,
                                             const responder& respond) const;

  runtime::node& node_;
  const call_forwarder& forwarder_;
  std::string http_address_;
  std::chrono::milliseconds request_timeout_;
  const http_server& server_;
  const readiness& ready_;
};

} // namespace troupe::gateway
