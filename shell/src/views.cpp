#include "views.hpp"

#include <utility>
#include <vector>

#include "text_table.hpp"

namespace troupe::shell {

namespace {

using align = text_table::alignment;

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

// "Label:" padded so that the values line up.
std::string labelled(const std::vector<std::pair<std::string, std::string>>& lines) {
  std::size_t width = 0;
  for (const auto& [label, value] : lines)
    width = std::max(width, label.size());
  std::string out;
  for (const auto& [label, value] : lines)
    out += label + ":" + std::string(width - label.size() + 2, ' ') + printable(value) + "\n";
  return out;
}

bool is_keyed(const admin::v1::ServiceInfo& service) {
  return service.kind() == "keyed";
}

// "3 of 1000"; just "3" without a limit.
std::string of_limit(std::uint64_t value, std::uint64_t limit) {
  return std::to_string(value) + (limit > 0 ? " of " + std::to_string(limit) : std::string{});
}

} // namespace

std::string render_nodes(const admin::v1::NodeList& nodes) {
  if (nodes.nodes().empty())
    return "(no nodes)\n";
  bool clustered = false;
  for (const auto& node : nodes.nodes())
    clustered = clustered || !node.state().empty();
  if (clustered) {
    text_table table({{"NAME"},
                      {"STATE"},
                      {"INC", align::right},
                      {"HTTP ADDRESS"},
                      {"CLUSTER ADDRESS"},
                      {"UPTIME", align::right},
                      {"HEARTBEAT", align::right},
                      {"ROLE"}});
    for (const auto& node : nodes.nodes()) {
      std::string role = node.self() ? "this node" : "";
      if (node.leader())
        role += role.empty() ? "leader" : ", leader";
      table.add_row({node.name(), or_dash(node.state()), std::to_string(node.incarnation()),
                     or_dash(node.http_address()), or_dash(node.cluster_address()),
                     format_duration(node.uptime_seconds()),
                     node.heartbeat_age_ms() >= 0
                       ? format_millis(static_cast<std::uint64_t>(node.heartbeat_age_ms()))
                           + " ago"
                       : "-",
                     or_dash(role)});
    }
    return table.render();
  }
  text_table table({{"NAME"}, {"HTTP ADDRESS"}, {"UPTIME", align::right}, {"STATUS"}});
  for (const auto& node : nodes.nodes())
    table.add_row({node.name(), or_dash(node.http_address()), format_duration(node.uptime_seconds()),
                   or_dash(node.status())});
  return table.render();
}

std::string render_node(const admin::v1::NodeInfo& node) {
  return labelled({
      {"Name", or_dash(node.name())},
      {"Version", or_dash(node.version())},
      {"HTTP address", or_dash(node.http_address())},
      {"Data directory", or_dash(node.data_dir())},
      {"Uptime", format_duration(node.uptime_seconds())},
      {"Status", or_dash(node.status())},
      {"Request timeout",
       node.request_timeout_ms() > 0 ? format_millis(node.request_timeout_ms()) : "-"},
      {"Calls in flight", of_limit(node.inflight(), node.max_inflight())},
      {"Mailbox limit",
       node.max_mailbox() > 0 ? std::to_string(node.max_mailbox()) + " calls per actor" : "-"},
      {"Activations", of_limit(node.activations(), node.max_activations())},
      {"Calls shed", std::to_string(node.calls_shed())},
      {"Shedding", node.shedding().empty() ? "no" : node.shedding()},
      {"Slow handlers",
       std::to_string(node.slow_calls())
         + (node.slow_handler_threshold_ms() > 0
              ? " (over " + format_millis(node.slow_handler_threshold_ms()) + ")"
              : std::string{})},
  });
}

std::string render_modules(const admin::v1::ModuleList& modules) {
  if (modules.modules().empty())
    return "(no modules)\n";
  text_table table({{"NAME"}, {"VERSION"}, {"SERVICES"}, {"PATH"}});
  for (const auto& module : modules.modules()) {
    std::string services;
    for (const auto& service : module.services())
      services += (services.empty() ? "" : ", ") + service;
    table.add_row({module.name(), or_dash(module.version()), or_dash(services), or_dash(module.path())});
  }
  return table.render();
}

std::string render_services(const admin::v1::ServiceList& services) {
  if (services.services().empty())
    return "(no services)\n";
  // ACTORS: a stateless service's instances, a keyed service's activations.
  text_table table({{"NAME"},
                    {"KIND"},
                    {"STATUS"},
                    {"ACTORS", align::right},
                    {"RESTARTS", align::right},
                    {"IN-FLIGHT", align::right},
                    {"SHED", align::right},
                    {"SLOW", align::right}});
  for (const auto& service : services.services()) {
    const bool keyed = is_keyed(service);
    table.add_row({service.name(), or_dash(service.kind()), or_dash(service.status()),
                   std::to_string(keyed ? service.active_actors() : service.instances()),
                   std::to_string(service.restarts()), std::to_string(service.inflight()),
                   std::to_string(service.calls_shed()), std::to_string(service.slow_calls())});
  }
  return table.render();
}

std::string render_service(const admin::v1::ServiceInfo& service) {
  const bool keyed = is_keyed(service);
  std::string kind = or_dash(service.kind());
  if (keyed && service.idle_timeout_ms() > 0)
    kind += " (passivated after " + format_millis(service.idle_timeout_ms()) + " idle)";

  std::vector<std::pair<std::string, std::string>> lines{
      {"Service", service.name()},
      {"Kind", kind},
      {"Module", or_dash(service.module())},
      {"Status", or_dash(service.status())},
  };
  if (service.blocking())
    lines.emplace_back("Threads", std::to_string(service.threads())
                                    + " of its own (handlers may block)");
  if (keyed)
    lines.emplace_back("Active actors", of_limit(service.active_actors(), service.max_activations()));
  else
    lines.emplace_back("Instances", std::to_string(service.instances()));
  lines.emplace_back("Calls", std::to_string(service.calls()) + " (" + std::to_string(service.failures())
                                  + " failed)");
  lines.emplace_back("In flight", std::to_string(service.inflight()) + " (most waiting for one actor: "
                                      + std::to_string(service.mailbox_high_water()) + ")");
  lines.emplace_back("Calls shed", std::to_string(service.calls_shed()));
  std::string slow_methods;
  for (const auto& method : service.slow_methods())
    slow_methods += (slow_methods.empty() ? "" : ", ") + method;
  lines.emplace_back("Slow handlers", std::to_string(service.slow_calls())
                                        + (slow_methods.empty() ? "" : " (" + slow_methods + ")"));
  lines.emplace_back("Restarts", std::to_string(service.restarts()));
  if (service.has_restart_policy()) {
    const auto& policy = service.restart_policy();
    lines.emplace_back("Policy", "at most " + std::to_string(policy.max_restarts()) + " restarts in "
                                     + format_millis(policy.window_ms()) + ", back-off "
                                     + format_millis(policy.backoff_initial_ms()) + " to "
                                     + format_millis(policy.backoff_max_ms()));
  } else {
    lines.emplace_back("Policy", "-");
  }

  std::string out = labelled(lines);
  out += "\nMethods:\n";
  if (service.methods().empty())
    out += "  (none)\n";
  for (const auto& method : service.methods()) {
    out += printable("  " + method.name() + "(" + or_dash(method.input_type()) + ") returns ("
                     + or_dash(method.output_type()) + ")")
           + "\n";
    if (method.routes().empty())
      out += "    (no HTTP route)\n";
    for (const auto& route : method.routes()) {
      std::string line = "    " + route.verb() + " " + route.path();
      if (!route.body().empty())
        line += "  body: " + route.body();
      out += printable(std::move(line)) + "\n";
    }
  }
  return out;
}

} // namespace troupe::shell
