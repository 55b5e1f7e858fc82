#include "admin_api.hpp"

#include <chrono>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "troupe/admin.pb.h"
#include "problem.hpp"
#include "troupe/options.pb.h"
#include "troupe/runtime/node.hpp"
#include "troupe/version.hpp"

namespace troupe::gateway {

namespace pb = google::protobuf;
namespace http = boost::beast::http;
namespace admin_pb = troupe::admin::v1;

namespace {

http_response json_response(const pb::Message& resource) {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  http_response res{http::status::ok, 11};
  res.set(http::field::content_type, json_content_type);
  if (!pb::util::MessageToJsonString(resource, &res.body(), options).ok())
    return problem_response(500, "the resource could not be printed", {});
  return res;
}

const std::string* bound(const path_bindings& bindings, std::string_view name) {
  for (const auto& [field, value] : bindings)
    if (field == name)
      return &value;
  return nullptr;
}

void add_route(admin_pb::MethodInfo& method, const troupe::HttpRule& rule) {
  const std::string* path = nullptr;
  const char* verb = nullptr;
  switch (rule.pattern_case()) {
    case troupe::HttpRule::kGet:
      verb = "GET", path = &rule.get();
      break;
    case troupe::HttpRule::kPut:
      verb = "PUT", path = &rule.put();
      break;
    case troupe::HttpRule::kPost:
      verb = "POST", path = &rule.post();
      break;
    case troupe::HttpRule::kDelete:
      verb = "DELETE", path = &rule.delete_();
      break;
    case troupe::HttpRule::kPatch:
      verb = "PATCH", path = &rule.patch();
      break;
    case troupe::HttpRule::PATTERN_NOT_SET:
      return;
  }
  auto* route = method.add_routes();
  route->set_verb(verb);
  route->set_path(*path);
  route->set_body(rule.body());
}

std::int64_t seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace

admin_pb::ServiceInfo service_info(const runtime::service_entry& service) {
  admin_pb::ServiceInfo info;
  info.set_name(service.name);
  info.set_kind(service.kind == runtime::service_kind::keyed ? "keyed" : "stateless");
  info.set_module(service.module);
  const auto& stats = *service.stats;
  info.set_status(stats.failed.load() ? "failed" : "running");
  info.set_instances(service.instances);
  info.set_active_actors(stats.active_actors.load());
  info.set_idle_timeout_ms(static_cast<std::uint32_t>(service.idle_timeout.count()));
  info.set_restarts(stats.restarts.load());
  info.set_calls(stats.calls.load());
  info.set_failures(stats.failures.load());
  auto* policy = info.mutable_restart_policy();
  policy->set_max_restarts(service.policy.max_restarts);
  policy->set_window_ms(static_cast<std::uint32_t>(service.policy.window.count()));
  policy->set_backoff_initial_ms(
    static_cast<std::uint32_t>(service.policy.backoff_initial.count()));
  policy->set_backoff_max_ms(static_cast<std::uint32_t>(service.policy.backoff_max.count()));
  if (service.descriptor != nullptr) {
    for (int i = 0; i < service.descriptor->method_count(); ++i) {
      const pb::MethodDescriptor* method = service.descriptor->method(i);
      auto* method_info = info.add_methods();
      method_info->set_name(method->name());
      method_info->set_input_type(method->input_type()->full_name());
      method_info->set_output_type(method->output_type()->full_name());
      if (method->options().HasExtension(troupe::http))
        add_route(*method_info, method->options().GetExtension(troupe::http));
    }
  }
  return info;
}

admin_api::admin_api(runtime::node& node, const call_forwarder& forwarder,
                     std::string http_address)
  : node_(node), forwarder_(forwarder), http_address_(std::move(http_address)) {
}

void admin_api::serve(builtin_endpoint endpoint, const http_request& request,
                      std::string_view path, const path_bindings& bindings,
                      std::span<const query_parameter> query, const request_context& context,
                      responder respond) const {
  auto node_info = [&] {
    admin_pb::NodeInfo info;
    const auto& config = node_.config();
    auto started = node_.started_at();
    auto now = std::chrono::system_clock::now();
    info.set_name(config.name);
    info.set_version(troupe::version_string);
    info.set_uptime_seconds(
      std::max<std::int64_t>(0, seconds_since_epoch(now) - seconds_since_epoch(started)));
    info.set_http_address(http_address_);
    info.set_data_dir(config.data_dir);
    info.set_started_at_unix(seconds_since_epoch(started));
    info.set_status(context.draining ? "draining" : "serving");
    info.set_log_lines_dropped(static_cast<std::int64_t>(node_.log().dropped_lines()));
    return info;
  };
  auto find_service = [&]() -> const runtime::service_entry* {
    const std::string* name = bound(bindings, "name");
    const runtime::service_entry* service = name ? node_.services().find(*name) : nullptr;
    if (service == nullptr)
      respond.send(problem_response(
        404, "no service named '" + (name ? *name : std::string{}) + "' on this node", path));
    return service;
  };

  switch (endpoint) {
    case builtin_endpoint::admin_node:
      respond.send(json_response(node_info()));
      return;
    case builtin_endpoint::admin_nodes: {
      admin_pb::NodeList list;
      *list.add_nodes() = node_info();
      respond.send(json_response(list));
      return;
    }
    case builtin_endpoint::admin_modules: {
      admin_pb::ModuleList list;
      for (const auto& module : node_.modules()) {
        auto* info = list.add_modules();
        info->set_name(module.name);
        info->set_version(module.version);
        info->set_path(module.path);
        for (const auto& service : module.services)
          info->add_services(service);
      }
      respond.send(json_response(list));
      return;
    }
    case builtin_endpoint::admin_services: {
      admin_pb::ServiceList list;
      for (const auto& service : node_.services().entries())
        *list.add_services() = service_info(*service);
      respond.send(json_response(list));
      return;
    }
    case builtin_endpoint::admin_service:
      if (const auto* service = find_service())
        respond.send(json_response(service_info(*service)));
      return;
    case builtin_endpoint::admin_reset_service:
      if (const auto* service = find_service()) {
        node_.reset_service(service->name);
        node_.log().info("service reset through the admin API",
                         {{"troupe.service", service->name}});
        respond.send(json_response(service_info(*service)));
      }
      return;
    case builtin_endpoint::admin_call: {
      const auto* service = find_service();
      if (service == nullptr)
        return;
      const std::string* method_name = bound(bindings, "method");
      const pb::MethodDescriptor* method =
        method_name && service->descriptor ? service->descriptor->FindMethodByName(*method_name)
                                           : nullptr;
      if (method == nullptr) {
        respond.send(problem_response(404,
                                      "service '" + service->name + "' has no method '"
                                        + (method_name ? *method_name : std::string{}) + "'",
                                      path));
        return;
      }
      // ?key=K is the actor key; any other parameter is refused by the
      // transcoder, since the body is the whole request message.
      std::optional<std::string> key;
      std::vector<query_parameter> rest;
      for (const auto& param : query) {
        if (param.name != "key") {
          rest.push_back(param);
        } else if (key) {
          respond.send(problem_response(400, "query parameter 'key' is given more than once",
                                        path));
          return;
        } else {
          key = param.value;
        }
      }
      forwarded_call call;
      call.service = service;
      call.method = method;
      call.body_rule = "*";
      call.key = std::move(key);
      call.parts.body = request.body();
      call.parts.content_type = {request[http::field::content_type].data(),
                                 request[http::field::content_type].size()};
      call.parts.query = rest;
      call.instance = path;
      call.traceparent = {request["traceparent"].data(), request["traceparent"].size()};
      forwarder_.forward(call, context, std::move(respond));
      return;
    }
    case builtin_endpoint::healthz:
    case builtin_endpoint::readyz:
      break;
  }
  respond.send(problem_response(404, "no such admin resource", path));
}

} // namespace troupe::gateway
