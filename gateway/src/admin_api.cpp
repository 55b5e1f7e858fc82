#include "admin_api.hpp"

#include <optional>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "admin_journal.hpp"
#include "admin_resources.hpp"
#include "json_response.hpp"
#include "problem.hpp"
#include "troupe/admin.pb.h"
#include "troupe/runtime/node.hpp"

namespace troupe::gateway {

namespace pb = google::protobuf;
namespace http = boost::beast::http;
namespace admin_pb = troupe::admin::v1;

namespace {

const std::string* bound(const path_bindings& bindings, std::string_view name) {
  for (const auto& [field, value] : bindings)
    if (field == name)
      return &value;
  return nullptr;
}

/// Another member as NodeInfo: what the membership tells of it.
admin_pb::NodeInfo member_info(const runtime::cluster_member& member) {
  admin_pb::NodeInfo info;
  info.set_name(member.name);
  info.set_http_address(member.http_address);
  auto started = member.started_at_unix_ms / 1000;
  info.set_started_at_unix(started);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  bool running = member.state == "joining" || member.state == "up" || member.state == "leaving";
  info.set_uptime_seconds(running && started > 0 ? std::max<std::int64_t>(0, now - started) : 0);
  info.set_status(member.state == "leaving" ? "draining" : running ? "serving" : member.state);
  return info;
}

void add_member_facts(admin_pb::NodeInfo& info, const runtime::cluster_summary& summary,
                      const runtime::cluster_member& member) {
  info.set_state(member.state);
  info.set_incarnation(member.incarnation);
  info.set_cluster_address(member.cluster_address);
  info.set_heartbeat_age_ms(member.heartbeat_age_ms);
  info.set_self(member.self);
  info.set_leader(member.leader);
  info.set_voter(member.voter);
  info.set_linked(member.linked);
  info.set_cluster_name(summary.name);
  info.set_membership_epoch(summary.epoch);
  info.set_state_changed_at_unix_ms(member.changed_at_unix_ms);
}

/// Each running member's share of `service` (ServiceInfo.nodes); this node's
/// own from its live figures, the same as ServiceInfo's own fields.
void add_service_nodes(admin_pb::ServiceInfo& info, const runtime::service_entry& service,
                       const runtime::cluster_summary& summary) {
  for (const auto& member : summary.members) {
    if (member.state != "joining" && member.state != "up" && member.state != "leaving")
      continue;
    for (const auto& hosted : member.services) {
      if (hosted.name != service.name)
        continue;
      auto* on = info.add_nodes();
      on->set_node(member.name);
      on->set_state(member.state);
      on->set_self(member.self);
      on->set_instances(member.self ? info.instances() : hosted.instances);
      on->set_keys(member.self ? info.active_actors() : hosted.keys);
    }
  }
}

} // namespace

admin_api::admin_api(runtime::node& node, const call_forwarder& forwarder,
                     std::string http_address, std::chrono::milliseconds request_timeout,
                     const http_server& server, const readiness& ready)
  : node_(node), forwarder_(forwarder), http_address_(std::move(http_address)),
    request_timeout_(request_timeout), server_(server), ready_(ready) {
}

admin_pb::NodeInfo admin_api::this_node(const admin_request& request) const {
  gateway_facts facts;
  facts.http_address = http_address_;
  facts.request_timeout = request_timeout_;
  facts.draining = request.context.draining;
  facts.load = server_.load();
  facts.unready_reasons = ready_.reasons();
  auto info = node_info(node_, facts);
  *info.mutable_state_store() = state_store_info(node_.state().figures());
  return info;
}

admin_pb::ServiceInfo admin_api::service_resource(const runtime::service_entry& service) const {
  auto info = service_info(service);
  if (const auto* membership = node_.membership())
    add_service_nodes(info, service, membership->summary());
  if (service.state_type != nullptr) {
    auto figures = node_.state().figures(service.name);
    *info.mutable_state() = service_state_info(service, figures.value_or(runtime::namespace_figures{}));
  }
  return info;
}

void admin_api::serve(builtin_endpoint endpoint, const admin_request& request,
                      responder respond) const {
  switch (endpoint) {
    case builtin_endpoint::admin_node:
      return get_node(request, std::move(respond));
    case builtin_endpoint::admin_nodes:
      return get_nodes(request, std::move(respond));
    case builtin_endpoint::admin_modules:
      return get_modules(request, std::move(respond));
    case builtin_endpoint::admin_services:
      return get_services(request, std::move(respond));
    case builtin_endpoint::admin_service:
      return get_service(request, std::move(respond));
    case builtin_endpoint::admin_reset_service:
      return reset_service(request, std::move(respond));
    case builtin_endpoint::admin_call:
      return call_method(request, std::move(respond));
    case builtin_endpoint::admin_journal:
      return serve_journal(node_, request, std::move(respond));
    case builtin_endpoint::admin_get_state:
      return get_state(request, std::move(respond));
    case builtin_endpoint::admin_delete_state:
      return delete_state(request, std::move(respond));
    case builtin_endpoint::admin_backup:
      return backup(request, std::move(respond));
    case builtin_endpoint::admin_key_location:
      return key_location(request, std::move(respond));
    case builtin_endpoint::admin_drain_node:
      return drain_node(request, std::move(respond));
    case builtin_endpoint::admin_remove_node:
      return remove_node(request, std::move(respond));
    case builtin_endpoint::healthz:
    case builtin_endpoint::readyz:
      break;
  }
  respond.send(problem_response(404, "no such admin resource", request.path));
}

void admin_api::get_node(const admin_request& request, responder respond) const {
  auto info = this_node(request);
  if (const auto* membership = node_.membership()) {
    auto summary = membership->summary();
    for (const auto& member : summary.members)
      if (member.self)
        add_member_facts(info, summary, member);
  }
  respond.send(json_response(info));
}

void admin_api::get_nodes(const admin_request& request, responder respond) const {
  admin_pb::NodeList list;
  const auto* membership = node_.membership();
  if (membership == nullptr) {
    *list.add_nodes() = this_node(request);
    respond.send(json_response(list));
    return;
  }
  auto summary = membership->summary();
  bool self_listed = false;
  for (const auto& member : summary.members) {
    admin_pb::NodeInfo info;
    if (member.self) {
      info = this_node(request);
      self_listed = true;
    } else {
      info = member_info(member);
    }
    add_member_facts(info, summary, member);
    *list.add_nodes() = std::move(info);
  }
  if (!self_listed) {
    // Not admitted yet: the node itself, with no state in the cluster.
    auto info = this_node(request);
    info.set_self(true);
    info.set_cluster_name(summary.name);
    info.set_heartbeat_age_ms(-1);
    *list.add_nodes() = std::move(info);
  }
  respond.send(json_response(list));
}

void admin_api::key_location(const admin_request& request, responder respond) const {
  const auto* membership = node_.membership();
  const std::string* service = bound(request.bindings, "name");
  std::optional<std::string> key;
  for (const auto& param : request.query) {
    if (param.name != "key") {
      respond.send(problem_response(400, "unknown query parameter '" + param.name
                                            + "'; expected key=K", request.path));
      return;
    }
    key = param.value;
  }
  if (!key) {
    respond.send(problem_response(400, "query parameter 'key' is required", request.path));
    return;
  }
  if (membership == nullptr) {
    respond.send(problem_response(409, "this node runs alone: every key is its own",
                                  request.path));
    return;
  }
  auto placed = membership->locate(service ? *service : std::string{}, *key);
  if (!placed.error.is_ok()) {
    respond.send(problem_response(placed.error.code() == status_code::not_found ? 404 : 409,
                                  placed.error.message(), request.path));
    return;
  }
  admin_pb::KeyLocation location;
  location.set_service(service ? *service : std::string{});
  location.set_key(*key);
  location.set_node(placed.node);
  location.set_node_state(placed.node_state);
  location.set_http_address(placed.http_address);
  location.set_local(placed.node == node_.config().name);
  respond.send(json_response(location));
}

void admin_api::drain_node(const admin_request& request, responder respond) const {
  auto* membership = node_.membership();
  const std::string* name = bound(request.bindings, "name");
  if (membership == nullptr) {
    respond.send(problem_response(409, "this node runs alone: there is no cluster to drain "
                                       "a node from (stop it with SIGTERM)",
                                  request.path));
    return;
  }
  auto st = membership->drain(name ? *name : std::string{});
  if (!st.is_ok()) {
    respond.send(problem_response(st.code() == status_code::not_found ? 404 : 409,
                                  st.message(), request.path));
    return;
  }
  node_.log().info("drain asked through the admin API", {{"troupe.cluster.member", *name}});
  admin_pb::DrainAccepted accepted;
  accepted.set_node(*name);
  accepted.set_detail(*name + " hands its keys over and leaves the cluster");
  auto response = json_response(accepted);
  response.result(http::status::accepted);
  respond.send(std::move(response));
}

void admin_api::remove_node(const admin_request& request, responder respond) const {
  auto* membership = node_.membership();
  if (membership == nullptr) {
    respond.send(problem_response(409, "this node runs alone: there is no cluster to remove "
                                       "a node from",
                                  request.path));
    return;
  }
  const std::string* bound_name = bound(request.bindings, "name");
  auto name = bound_name ? *bound_name : std::string{};
  membership->remove(name, [respond, name, &log = node_.log(),
                            client = std::string{request.context.client_address},
                            instance = std::string{request.path}](status st) {
    if (!st.is_ok()) {
      auto code = st.code() == status_code::not_found             ? 404
                  : st.code() == status_code::failed_precondition ? 409
                                                                   : 503;
      respond.send(problem_response(code, st.message(), instance));
      return;
    }
    log.warn("member removed through the admin API",
             {{"troupe.cluster.member", name}, {"client.address", client}});
    admin_pb::NodeRemoved removed;
    removed.set_node(name);
    removed.set_detail(name + " is removed from the cluster: the keys it held answer from the "
                       "other members, those with durable state starting from none");
    respond.send(json_response(removed));
  });
}

void admin_api::get_modules(const admin_request&, responder respond) const {
  respond.send(json_response(module_list(node_)));
}

void admin_api::get_services(const admin_request&, responder respond) const {
  admin_pb::ServiceList list;
  for (const auto& service : node_.services().entries())
    *list.add_services() = service_resource(*service);
  respond.send(json_response(list));
}

void admin_api::get_service(const admin_request& request, responder respond) const {
  if (const auto* service = find_service(request, respond))
    respond.send(json_response(service_resource(*service)));
}

void admin_api::reset_service(const admin_request& request, responder respond) const {
  const auto* service = find_service(request, respond);
  if (service == nullptr)
    return;
  node_.reset_service(service->name);
  node_.log().info("service reset through the admin API",
                   {{"troupe.service", service->name}});
  respond.send(json_response(service_resource(*service)));
}

void admin_api::call_method(const admin_request& request, responder respond) const {
  const auto* service = find_service(request, respond);
  if (service == nullptr)
    return;
  const std::string* method_name = bound(request.bindings, "method");
  const pb::MethodDescriptor* method =
    method_name && service->descriptor ? service->descriptor->FindMethodByName(*method_name)
                                       : nullptr;
  if (method == nullptr) {
    respond.send(problem_response(404,
                                  "service '" + service->name + "' has no method '"
                                    + (method_name ? *method_name : std::string{}) + "'",
                                  request.path));
    return;
  }
  // ?key=K is the actor key; any other parameter is refused by the
  // transcoder, since the body is the whole request message.
  std::optional<std::string> key;
  std::vector<query_parameter> rest;
  for (const auto& param : request.query) {
    if (param.name != "key") {
      rest.push_back(param);
    } else if (key) {
      respond.send(
        problem_response(400, "query parameter 'key' is given more than once", request.path));
      return;
    } else {
      key = param.value;
    }
  }
  const auto& http_request = request.http;
  forwarded_call call;
  call.service = service;
  call.method = method;
  call.body_rule = "*";
  call.key = std::move(key);
  call.parts.body = http_request.body();
  call.parts.content_type = {http_request[http::field::content_type].data(),
                             http_request[http::field::content_type].size()};
  call.parts.query = rest;
  call.instance = request.path;
  call.traceparent = {http_request["traceparent"].data(), http_request["traceparent"].size()};
  forwarder_.forward(call, request.context, std::move(respond));
}

const runtime::service_entry* admin_api::find_service(const admin_request& request,
                                                      const responder& respond) const {
  const std::string* name = bound(request.bindings, "name");
  const runtime::service_entry* service = name ? node_.services().find(*name) : nullptr;
  if (service == nullptr)
    respond.send(problem_response(
      404, "no service named '" + (name ? *name : std::string{}) + "' on this node",
      request.path));
  return service;
}

} // namespace troupe::gateway
