#include "service_validator.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string_view>
#include <utility>

#include <google/protobuf/descriptor.h>

#include "http_rule.hpp"
#include "state_type.hpp"
#include "route_grammar.hpp"
#include "troupe/options.pb.h"

namespace troupe::codegen {

namespace {

namespace pb = google::protobuf;

/// Every (verb, path) routed so far in the file: two rpcs may not share one.
using route_set = std::set<std::pair<std::string, std::string>>;

/// `message`, prefixed with the source position of `where` when known.
template <class Descriptor>
std::string at(const Descriptor* where, std::string message) {
  pb::SourceLocation location;
  if (!where->GetSourceLocation(&location))
    return message;
  return std::to_string(location.start_line + 1) + ":"
         + std::to_string(location.start_column + 1) + ": " + message;
}

/// Follows a dotted field path from `message` to a singular scalar field.
std::string check_field_path(const pb::Descriptor* message, std::string_view path) {
  const pb::Descriptor* current = message;
  for (;;) {
    auto dot = path.find('.');
    std::string name{path.substr(0, dot)};
    auto* field = current->FindFieldByName(name);
    if (field == nullptr)
      return current->full_name() + " has no field " + name;
    if (field->is_repeated())
      return "field " + name + " of " + current->full_name() + " is repeated";
    bool is_message = field->type() == pb::FieldDescriptor::TYPE_MESSAGE;
    if (dot == std::string_view::npos)
      return is_message ? "field " + name + " of " + current->full_name()
                            + " is a message, not a scalar"
                        : std::string{};
    if (!is_message)
      return "field " + name + " of " + current->full_name() + " is not a message";
    current = field->message_type();
    path.remove_prefix(dot + 1);
  }
}

/// Names the generated base class declares itself; an rpc may not take them.
bool is_reserved_member(std::string_view name) {
  constexpr std::string_view reserved[] = {
    "descriptor",  "dispatch",      "on_activate",  "on_passivate",  "declared_state",
    "state",       "mutable_state", "load_state",   "save_state",    "state_changed",
    "revert_state"};
  return std::find(std::begin(reserved), std::end(reserved), name) != std::end(reserved);
}

/// Checks the (troupe.http) option of `method`; returns the fault or "".
std::string check_route(const pb::MethodDescriptor* method, ServiceKind kind,
                        route_set& routes) {
  const auto& rule = method->options().GetExtension(http);
  auto route = troupe::options::pattern_of(rule);
  if (!route)
    return "(troupe.http) sets no verb; give one of get, put, post, delete, patch "
           "with a path";
  auto shown = "route \"" + std::string{route->verb} + " " + route->path + "\"";
  std::string error;
  auto parsed = troupe::route::parse_template(route->path, error);
  if (!parsed)
    return shown + ": " + error;
  std::vector<std::string> bindings;
  for (const auto& seg : parsed->segments)
    if (seg.kind == troupe::route::segment_kind::variable)
      bindings.push_back(seg.text);
  for (const auto& binding : bindings) {
    if (kind == KEYED && binding == "key")
      continue;  // the actor key; fills a request field `key` only if there is one
    if (auto problem = check_field_path(method->input_type(), binding); !problem.empty())
      return shown + " binds {" + binding + "}, but " + problem;
  }
  if (kind == KEYED && std::find(bindings.begin(), bindings.end(), "key") == bindings.end())
    return shown + " of a KEYED service must bind the actor key with {key}";
  const auto& body = rule.body();
  if (!body.empty()) {
    if (route->verb == "GET" || route->verb == "DELETE")
      return shown + " cannot take a body (body: \"" + body + "\")";
    if (body != "*" && method->input_type()->FindFieldByName(body) == nullptr)
      return "body \"" + body + "\" is neither \"*\" nor a field of "
             + method->input_type()->full_name();
  }
  if (!routes.emplace(std::string{route->verb}, route->path).second)
    return shown + " is already the route of another rpc";
  return {};
}

/// True when `file` is `from` or one of the files it imports, directly or
/// publicly through them: then the generated code sees the type's class.
bool visible_from(const pb::FileDescriptor* file, const pb::FileDescriptor* from) {
  if (file == from)
    return true;
  for (int i = 0; i < from->dependency_count(); ++i)
    if (from->dependency(i) == file)
      return true;
  return false;
}

/// Checks the (troupe.service).state option; returns the fault or "".
std::string check_state(const pb::ServiceDescriptor* service, const ServiceOptions& options) {
  if (!troupe::options::declares_state(*service))
    return {};
  const auto& name = options.state().type();
  if (options.kind() != KEYED)
    return "state \"" + name + "\" is declared, but only a KEYED service has state "
           "per key";
  const auto* type = troupe::options::declared_state_type(*service);
  if (type == nullptr)
    return "state type \"" + name + "\" is not a message defined in this file or one it "
           "imports";
  if (!visible_from(type->file(), service->file()))
    return "state type " + type->full_name() + " is defined in " + type->file()->name()
           + ", which this file does not import";
  if (options.state().durability() != StateOptions::BATCHED
      && options.state().batch_interval_ms() != 0)
    return "state batch_interval_ms is set, but durability is not BATCHED";
  return {};
}

/// The most threads a blocking service may ask for on a node.
constexpr std::uint32_t max_threads = 256;

/// Checks `blocking` and `threads`; returns the fault or "".
std::string check_threads(const ServiceOptions& options) {
  if (!options.blocking()) {
    if (options.threads() != 0)
      return "threads (" + std::to_string(options.threads())
             + ") is for a blocking service; add blocking: true, or drop threads "
               "(non-blocking services share the node's scheduler threads)";
    return {};
  }
  if (options.threads() > max_threads)
    return "threads (" + std::to_string(options.threads()) + ") exceeds "
           + std::to_string(max_threads);
  if (options.kind() == STATELESS && options.instances() != 0 && options.threads() != 0
      && options.instances() != options.threads())
    return "a blocking STATELESS service runs one instance per thread, but instances ("
           + std::to_string(options.instances()) + ") differs from threads ("
           + std::to_string(options.threads()) + "); give one of them";
  if (options.kind() == STATELESS && options.instances() > max_threads)
    return "instances (" + std::to_string(options.instances()) + ") of a blocking service "
           "are its threads and exceed " + std::to_string(max_threads);
  return {};
}

/// Checks one service and its rpcs; returns the fault or "".
std::string check_service(const pb::ServiceDescriptor* service, route_set& routes) {
  auto prefix = "service " + service->full_name() + ": ";
  if (!service->options().HasExtension(troupe::service))
    return at(service, prefix + "no (troupe.service) option; add option (troupe.service) "
                                "= {kind: KEYED} or {kind: STATELESS}");
  const auto& options = service->options().GetExtension(troupe::service);
  if (options.kind() != KEYED && options.kind() != STATELESS)
    return at(service, prefix + "(troupe.service) kind is unspecified; set kind: KEYED "
                                "or kind: STATELESS");
  const auto& restart = options.restart();
  if (restart.backoff_initial_ms() != 0 && restart.backoff_max_ms() != 0
      && restart.backoff_initial_ms() > restart.backoff_max_ms())
    return at(service, prefix + "restart backoff_initial_ms ("
                         + std::to_string(restart.backoff_initial_ms())
                         + ") exceeds backoff_max_ms ("
                         + std::to_string(restart.backoff_max_ms()) + ")");
  if (auto problem = check_state(service, options); !problem.empty())
    return at(service, prefix + problem);
  if (auto problem = check_threads(options); !problem.empty())
    return at(service, prefix + problem);
  if (options.max_activations() != 0 && options.kind() != KEYED)
    return at(service, prefix + "max_activations bounds a KEYED service's activations; "
                                "a STATELESS service has `instances`");
  for (const char* suffix : {"Base", "Client"}) {
    auto generated = service->name() + suffix;
    const auto* file = service->file();
    if (file->FindMessageTypeByName(generated) != nullptr
        || file->FindEnumTypeByName(generated) != nullptr
        || file->FindServiceByName(generated) != nullptr)
      return at(service, prefix + "the generated class " + generated
                           + " would clash with a type of that name in this file");
  }
  for (int i = 0; i < service->method_count(); ++i) {
    auto* method = service->method(i);
    auto rpc = prefix + "rpc " + method->name() + ": ";
    if (method->client_streaming() || method->server_streaming())
      return at(method, rpc + "streaming rpcs are not supported; use a unary rpc");
    if (is_reserved_member(method->name()))
      return at(method, rpc + "the name is reserved by the generated base class");
    if (!method->options().HasExtension(http))
      continue;  // callable from other services, not over HTTP
    if (auto problem = check_route(method, options.kind(), routes); !problem.empty())
      return at(method, rpc + problem);
  }
  return {};
}

} // namespace

std::string validate_services(const google::protobuf::FileDescriptor* file) {
  route_set routes;
  for (int i = 0; i < file->service_count(); ++i)
    if (auto problem = check_service(file->service(i), routes); !problem.empty())
      return problem;
  return {};
}

} // namespace troupe::codegen
