#include "service_generator.hpp"

#include <map>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/printer.h>

#include "cpp_names.hpp"
#include "http_rule.hpp"
#include "state_type.hpp"
#include "troupe/options.pb.h"

namespace troupe::codegen {

namespace {

namespace pb = google::protobuf;

using variables = std::map<std::string, std::string>;

bool is_keyed(const pb::ServiceDescriptor* service) {
  return service->options().GetExtension(troupe::service).kind() == KEYED;
}

std::string route_comment(const pb::MethodDescriptor* method) {
  if (!method->options().HasExtension(http))
    return "no HTTP route; callable from other services";
  auto pattern = troupe::options::pattern_of(method->options().GetExtension(http));
  if (!pattern)
    return {};
  return std::string{pattern->verb} + " " + pattern->path;
}

variables service_variables(const pb::ServiceDescriptor* service) {
  return {
    {"service", service->name()},
    {"full_name", service->full_name()},
    {"kind", is_keyed(service) ? "KEYED" : "STATELESS"},
  };
}

variables method_variables(const pb::MethodDescriptor* method) {
  auto vars = service_variables(method->service());
  vars["rpc"] = method->name();
  vars["handler"] = resolve_keyword(method->name());
  vars["request"] = qualified_class_name(method->input_type());
  vars["response"] = qualified_class_name(method->output_type());
  vars["route"] = route_comment(method);
  return vars;
}

/// The request field that holds the actor key of a KEYED service's call: the
/// field the routes bind with {key}, which the route grammar names `key`
/// (rpcs without a route use the same field). Only a singular string field
/// can hold a key; null when the request has none.
const pb::FieldDescriptor* key_field(const pb::MethodDescriptor* method) {
  if (!is_keyed(method->service()))
    return nullptr;
  const auto* field = method->input_type()->FindFieldByName("key");
  if (field == nullptr || field->is_repeated() || field->type() != pb::FieldDescriptor::TYPE_STRING)
    return nullptr;
  return field;
}

/// The expression that yields the service's descriptor. Going through a
/// message of the same file uses that file's generated descriptor (and links
/// its .pb.cc); a file without messages falls back to the generated pool.
std::string descriptor_expression(const pb::ServiceDescriptor* service) {
  const auto* file = service->file();
  auto index = std::to_string(service->index());
  if (file->message_type_count() > 0)
    return qualified_class_name(file->message_type(0)) + "::descriptor()->file()->service("
           + index + ")";
  return "::google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(\""
         + service->full_name() + "\")";
}

} // namespace

void print_service_declarations(const pb::ServiceDescriptor* service,
                                pb::io::Printer& out) {
  auto vars = service_variables(service);
  const auto* state = troupe::options::declared_state_type(*service);
  const auto* event = troupe::options::declared_event_type(*service);
  if (state != nullptr && event != nullptr) {
    vars["state"] = qualified_class_name(state);
    vars["event"] = qualified_class_name(event);
    out.Print(vars,
              "/// Derive from this class to implement $full_name$ ($kind$), and\n"
              "/// register the derived class with the module's registrar. Each key's\n"
              "/// state is a $state$ kept as a journal of\n"
              "/// $event$ events: read state(), change it by emit(event),\n"
              "/// and implement apply(state, event) (troupe/journaled_state.hpp).\n"
              "class $service$Base : public ::troupe::service_base,\n"
              "                      public ::troupe::journaled_state<$state$,\n"
              "                                                       $event$> {\n"
              " public:\n"
              "  /// The proto service, with its (troupe.service) options.\n"
              "  static const ::google::protobuf::ServiceDescriptor* descriptor();\n"
              "\n"
              "  ::troupe::detail::state_access* declared_state() noexcept final {\n"
              "    return this;\n"
              "  }\n");
  } else if (state != nullptr) {
    // The validator made sure the type resolves; its header comes with the
    // file's own .pb.h, which includes those of its imports.
    vars["state"] = qualified_class_name(state);
    out.Print(vars,
              "/// Derive from this class to implement $full_name$ ($kind$), and\n"
              "/// register the derived class with the module's registrar. Each key's\n"
              "/// state is a $state$: read state(), change mutable_state()\n"
              "/// (troupe/keyed_state.hpp).\n"
              "class $service$Base : public ::troupe::service_base,\n"
              "                      public ::troupe::keyed_state<$state$> {\n"
              " public:\n"
              "  /// The proto service, with its (troupe.service) options.\n"
              "  static const ::google::protobuf::ServiceDescriptor* descriptor();\n"
              "\n"
              "  ::troupe::detail::state_access* declared_state() noexcept final {\n"
              "    return this;\n"
              "  }\n");
  } else {
    out.Print(vars,
              "/// Derive from this class to implement $full_name$ ($kind$), and\n"
              "/// register the derived class with the module's registrar.\n"
              "class $service$Base : public ::troupe::service_base {\n"
              " public:\n"
              "  /// The proto service, with its (troupe.service) options.\n"
              "  static const ::google::protobuf::ServiceDescriptor* descriptor();\n");
  }
  for (int i = 0; i < service->method_count(); ++i)
    out.Print(method_variables(service->method(i)),
              "\n"
              "  /// $route$\n"
              "  virtual ::troupe::reply<$response$> $handler$(\n"
              "      ::troupe::call_context& ctx, const $request$& request) = 0;\n");
  out.Print(vars,
            "\n"
            "  void dispatch(::troupe::call_context& ctx, std::string_view method,\n"
            "                std::string_view payload) final;\n"
            "};\n"
            "\n"
            "/// Calls $full_name$ from a handler without blocking: each method\n"
            "/// returns a ::troupe::pending whose then() sends the call; the callbacks\n"
            "/// run later on the calling actor. A timeout shortens the caller's\n"
            "/// deadline.\n"
            "class $service$Client {\n"
            " public:\n"
            "  static constexpr std::string_view service_name = \"$full_name$\";\n"
            "\n"
            "  explicit $service$Client(const ::troupe::call_context& ctx) : ctx_(ctx) {}\n");
  const char* key_parameter = is_keyed(service) ? "std::string_view key, " : "";
  for (int i = 0; i < service->method_count(); ++i) {
    auto method_vars = method_variables(service->method(i));
    method_vars["key_parameter"] = key_parameter;
    out.Print(method_vars,
              "\n"
              "  ::troupe::pending<$response$> $handler$(\n"
              "      $key_parameter$const $request$& request,\n"
              "      std::chrono::milliseconds timeout = {}) const;\n");
  }
  out.Print("\n"
            " private:\n"
            "  ::troupe::call_context ctx_;\n"
            "};\n");
}

void print_service_definitions(const pb::ServiceDescriptor* service,
                               pb::io::Printer& out) {
  auto vars = service_variables(service);
  vars["descriptor_expression"] = descriptor_expression(service);
  out.Print(vars,
            "const ::google::protobuf::ServiceDescriptor* $service$Base::descriptor() {\n"
            "  return $descriptor_expression$;\n"
            "}\n"
            "\n"
            "void $service$Base::dispatch(::troupe::call_context& ctx,\n"
            "    std::string_view method, std::string_view payload) {\n");
  for (int i = 0; i < service->method_count(); ++i) {
    auto method_vars = method_variables(service->method(i));
    method_vars["index"] = std::to_string(i);
    out.Print(method_vars,
              "  if (method == \"$rpc$\") {\n"
              "    const auto* request =\n"
              "        ::troupe::detail::request_for<$request$>(ctx, payload, $index$);\n"
              "    if (request == nullptr)\n"
              "      return;\n");
    if (const auto* field = key_field(service->method(i))) {
      method_vars["field"] = field->name();
      method_vars["accessor"] = resolve_keyword(field->lowercase_name());
      method_vars["mutable_accessor"] = "mutable_" + field->lowercase_name();
      out.Print(method_vars,
                "    // `$field$` holds the actor key however the call came: filled\n"
                "    // when empty, the call refused when it names another key.\n"
                "    if (request->$accessor$() != ctx.key()) {\n"
                "      request = ::troupe::detail::request_with_key(ctx, *request, $index$,\n"
                "          \"$field$\", &$request$::$accessor$, &$request$::$mutable_accessor$);\n"
                "      if (request == nullptr)\n"
                "        return;\n"
                "    }\n");
    }
    out.Print(method_vars,
              "    auto reply = $handler$(ctx, *request);\n"
              "    std::move(reply).complete(ctx.state());\n"
              "    return;\n"
              "  }\n");
  }
  out.Print("  ::troupe::detail::unknown_method(ctx, method);\n"
            "}\n");
  const char* key_parameter = is_keyed(service) ? "std::string_view key, " : "";
  const char* key_argument = is_keyed(service) ? "key" : "std::string_view{}";
  for (int i = 0; i < service->method_count(); ++i) {
    auto method_vars = method_variables(service->method(i));
    method_vars["key_parameter"] = key_parameter;
    method_vars["key_argument"] = key_argument;
    out.Print(method_vars,
              "\n"
              "::troupe::pending<$response$> $service$Client::$handler$(\n"
              "    $key_parameter$const $request$& request,\n"
              "    std::chrono::milliseconds timeout) const {\n"
              "  return ctx_.call<$response$>(\n"
              "      service_name, \"$rpc$\", $key_argument$, request, timeout);\n"
              "}\n");
  }
}

} // namespace troupe::codegen
