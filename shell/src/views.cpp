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

} // namespace

std::string render_nodes(const admin::v1::NodeList& nodes) {
  if (nodes.nodes().empty())
    return "(no nodes)\n";
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
  text_table table({{"NAME"},
                    {"KIND"},
                    {"STATUS"},
                    {"INSTANCES", align::right},
                    {"ACTIVE ACTORS", align::right},
                    {"RESTARTS", align::right}});
  for (const auto& service : services.services()) {
    const bool keyed = is_keyed(service);
    table.add_row({service.name(), or_dash(service.kind()), or_dash(service.status()),
                   keyed ? "-" : std::to_string(service.instances()),
                   keyed ? std::to_string(service.active_actors()) : "-",
                   std::to_string(service.restarts())});
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
  if (keyed)
    lines.emplace_back("Active actors", std::to_string(service.active_actors()));
  else
    lines.emplace_back("Instances", std::to_string(service.instances()));
  lines.emplace_back("Calls", std::to_string(service.calls()) + " (" + std::to_string(service.failures())
                                  + " failed)");
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
