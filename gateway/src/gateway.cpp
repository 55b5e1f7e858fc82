#include "troupe/gateway/gateway.hpp"

#include <stdexcept>
#include <system_error>

#include <google/protobuf/descriptor.h>

#include "admin_api.hpp"
#include "call_forwarder.hpp"
#include "http_server.hpp"
#include "json_response.hpp"
#include "problem.hpp"
#include "readiness.hpp"
#include "router.hpp"
#include "transcoder.hpp"
#include "uri.hpp"
#include "troupe/runtime/node.hpp"

namespace troupe::gateway {

namespace http = boost::beast::http;

namespace {

template <class Field>
std::string_view header_value(const http_request& request, Field field) {
  auto value = request[field];
  return {value.data(), value.size()};
}

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  auto host = address.to_string();
  if (address.is_v6())
    host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

} // namespace

struct gateway::impl {
  impl(runtime::node& n, gateway_config c)
    : node(n), config(std::move(c)), forwarder(node, codec) {
  }

  /// The request handler: route, then serve or forward. I/O threads only.
  void handle(const http_request& request, request_context& context,
              responder respond) const {
    auto target = split_target({request.target().data(), request.target().size()});
    if (!target) {
      respond.send(problem_response(400, "the request target must be an absolute path", {}));
      return;
    }
    auto path = target->path;
    // HEAD is answered like GET, without the body.
    auto verb = request.method() == http::verb::head ? http::verb::get : request.method();
    auto match = routes.match(verb, path);
    switch (match.result) {
      case route_match::outcome::bad_path:
        respond.send(problem_response(400, match.error, path));
        return;
      case route_match::outcome::not_found:
        respond.send(problem_response(404, "no route matches this path", path));
        return;
      case route_match::outcome::method_not_allowed: {
        auto method = request.method_string();
        auto res = problem_response(405,
                                    "method " + std::string{method.data(), method.size()}
                                      + " is not allowed here; allowed: " + match.allow,
                                    path);
        res.set(http::field::allow, match.allow);
        respond.send(std::move(res));
        return;
      }
      case route_match::outcome::found:
        break;
    }
    context.route = match.matched->path.text();  // the router outlives the server

    auto query = parse_query(target->query);
    if (!query) {
      respond.send(problem_response(400, query.error(), path));
      return;
    }

    if (const auto* endpoint = std::get_if<builtin_endpoint>(&match.matched->target)) {
      serve_builtin(*endpoint, request, path, match.bindings, *query, context,
                    std::move(respond));
      return;
    }

    const auto& method = std::get<method_target>(match.matched->target);
    forwarded_call call;
    call.service = method.service;
    call.method = method.method;
    call.body_rule = method.body;
    if (method.key_in_path)
      for (const auto& [field, value] : match.bindings)
        if (field == "key")
          call.key = value;
    call.parts.body = request.body();
    call.parts.content_type = header_value(request, http::field::content_type);
    call.parts.query = *query;
    call.parts.bindings = match.bindings;
    call.instance = path;
    call.traceparent = header_value(request, "traceparent");
    forwarder.forward(call, context, std::move(respond));
  }

  void serve_builtin(builtin_endpoint endpoint, const http_request& request,
                     std::string_view path, const path_bindings& bindings,
                     std::span<const query_parameter> query, const request_context& context,
                     responder respond) const {
    switch (endpoint) {
      case builtin_endpoint::healthz:
        respond.send(json_response(R"({"status":"ok"})"));
        return;
      case builtin_endpoint::readyz:
        respond.send(ready.response(context.draining, path));
        return;
      default:
        admin->serve(endpoint, admin_request{request, path, bindings, query, context},
                     std::move(respond));
        return;
    }
  }

  runtime::node& node;
  const gateway_config config;
  std::vector<readiness_check> checks;  // added before start()
  transcoder codec;
  call_forwarder forwarder;
  router routes;
  readiness ready;  // complete before the server starts; read-only after
  std::unique_ptr<admin_api> admin;
  // Declared last: destroyed (and its threads joined) before what it uses.
  std::unique_ptr<http_server> server;
};

gateway::gateway(runtime::node& node, gateway_config config)
  : impl_(std::make_unique<impl>(node, std::move(config))) {
}

gateway::~gateway() {
  stop();
}

void gateway::start() {
  auto& d = *impl_;
  if (d.server)
    throw std::logic_error("gateway::start() called twice");
  router routes;
  if (auto added = add_builtin_routes(routes); !added)
    throw std::runtime_error("gateway: " + added.error());
  if (auto added = add_service_routes(routes, d.node.services().entries()); !added)
    throw std::runtime_error("gateway: " + added.error());
  d.routes = std::move(routes);
  // Before the I/O threads share the transcoder: every reply type a route or
  // the admin API's call endpoint may print.
  for (const auto& service : d.node.services().entries())
    for (int i = 0; i < service->descriptor->method_count(); ++i)
      d.codec.add_reply_type(*service->descriptor->method(i)->output_type());

  auto server = std::make_unique<http_server>(
    d.config,
    [impl = impl_.get()](const http_request& request, request_context& context,
                         responder respond) { impl->handle(request, context, std::move(respond)); },
    d.node.log());
  boost::asio::ip::tcp::endpoint bound;
  try {
    bound = server->listen();
  } catch (const std::system_error& e) {
    throw std::runtime_error(std::string{"gateway: "} + e.what());
  }
  d.forwarder.serve_io_threads(server->io_threads());
  // /readyz: the gateway's bounds, then the runtime's load shedding, then
  // the checks added by the program.
  d.ready.add_source([server = server.get()](std::vector<std::string>& reasons) {
    server->bounds_reached(reasons);
  });
  d.ready.add([&node = d.node] { return node.shedding(); });
  for (auto& check : d.checks)
    d.ready.add(std::move(check));
  d.checks.clear();
  d.admin = std::make_unique<admin_api>(d.node, d.forwarder, endpoint_text(bound),
                                        d.config.request_timeout, *server, d.ready);
  server->start();
  d.server = std::move(server);
  auto load = d.server->load();
  d.node.log().info("gateway listening",
                    {{"url.full", "http://" + endpoint_text(bound)},
                     {"troupe.routes", std::to_string(d.routes.routes().size())},
                     {"troupe.http.max_connections", load.max_connections},
                     {"troupe.http.max_body_memory", load.max_body_memory}});
}

void gateway::add_readiness_check(readiness_check check) {
  if (impl_->server)
    throw std::logic_error("gateway::add_readiness_check() after start()");
  impl_->checks.push_back(std::move(check));
}

std::string gateway::endpoint() const {
  return impl_->server ? endpoint_text(impl_->server->local_endpoint()) : std::string{};
}

std::uint16_t gateway::port() const {
  return impl_->server ? impl_->server->local_endpoint().port() : 0;
}

bool gateway::drain(std::chrono::steady_clock::time_point deadline) {
  if (!impl_->server)
    return true;
  impl_->node.log().info("gateway draining");
  auto outcome = impl_->server->drain(deadline);
  if (!outcome.completed)
    impl_->node.log().warn("gateway drain deadline passed with requests in progress",
                           {{"troupe.http.answered_unavailable", outcome.answered_unavailable},
                            {"troupe.http.abandoned", outcome.abandoned}});
  return outcome.completed;
}

void gateway::stop() {
  if (impl_->server)
    impl_->server->stop();
}

} // namespace troupe::gateway
