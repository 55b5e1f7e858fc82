#include "views.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "json_text.hpp"
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

// The state lines of a service that declares state.
void add_state_lines(const admin::v1::ServiceStateInfo& state,
                     std::vector<std::pair<std::string, std::string>>& lines) {
  std::string kept = or_dash(state.durability());
  if (state.durability() == "BATCHED")
    kept += " (synced within " + format_millis(state.batch_interval_ms()) + ")";
  lines.emplace_back("State", or_dash(state.type()) + ", " + kept);
  lines.emplace_back("Stored keys", std::to_string(state.keys()) + " (estimated)");
  lines.emplace_back("On disk", format_bytes(state.disk_bytes()) + " in tables, "
                                    + format_bytes(state.memtable_bytes())
                                    + " in memtables (in the log, not yet in tables)");
  lines.emplace_back("Compaction", format_bytes(state.pending_compaction_bytes()) + " pending");
  lines.emplace_back("Write stalls", std::to_string(state.stall_stops()) + " stops, "
                                         + std::to_string(state.stall_slowdowns())
                                         + " slowdowns");
}

// The state store's lines of the node view.
void add_state_store_lines(const admin::v1::StateStoreInfo& store,
                           std::vector<std::pair<std::string, std::string>>& lines) {
  std::string where = or_dash(store.engine());
  if (!store.directory().empty())
    where += " in " + store.directory() + ", " + format_bytes(store.disk_bytes()) + " on disk";
  else
    where += ", " + format_bytes(store.memory_bytes()) + " (gone when the node stops)";
  lines.emplace_back("State store", where);
  std::string writes = std::to_string(store.writes_committed()) + " committed, "
                       + std::to_string(store.writes_failed()) + " failed";
  if (store.write_stopped())
    writes += "; writes stopped now";
  if (store.backup_running())
    writes += "; a backup is being written";
  lines.emplace_back("State writes", writes);
  if (!store.last_fault().empty())
    lines.emplace_back("Last storage fault", store.last_fault());
}

// "3 of 1000"; just "3" without a limit.
std::string of_limit(std::uint64_t value, std::uint64_t limit) {
  return std::to_string(value) + (limit > 0 ? " of " + std::to_string(limit) : std::string{});
}

} // namespace

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024)
    return std::to_string(bytes) + " B";
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

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
  std::vector<std::pair<std::string, std::string>> lines{
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
  };
  if (node.has_state_store())
    add_state_store_lines(node.state_store(), lines);
  return labelled(lines);
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

/// A service's share on each member, "NODE:N" with N its keys (keyed) or
/// instances (stateless), this node marked with "*".
std::string per_node_shares(const admin::v1::ServiceInfo& service) {
  const bool keyed = is_keyed(service);
  std::string out;
  for (const auto& on : service.nodes())
    out += (out.empty() ? "" : " ") + on.node() + (on.self() ? "*" : "") + ":"
           + std::to_string(keyed ? on.keys() : on.instances());
  return out;
}

std::string render_services(const admin::v1::ServiceList& services) {
  if (services.services().empty())
    return "(no services)\n";
  // ACTORS: a stateless service's instances, a keyed service's activations.
  // The state store's columns only when a service keeps state.
  const bool any_state = std::any_of(services.services().begin(), services.services().end(),
                                     [](const auto& service) { return service.has_state(); });
  std::vector<text_table::column> columns{{"NAME"},
                                          {"KIND"},
                                          {"STATUS"},
                                          {"ACTORS", align::right},
                                          {"RESTARTS", align::right},
                                          {"IN-FLIGHT", align::right},
                                          {"SHED", align::right},
                                          {"SLOW", align::right}};
  if (any_state) {
    columns.push_back({"STORED KEYS", align::right});
    columns.push_back({"ON DISK", align::right});
  }
  // In a cluster, where each service's actors are: keys or instances per node.
  const bool any_nodes = std::any_of(services.services().begin(), services.services().end(),
                                     [](const auto& service) { return service.nodes_size() > 0; });
  if (any_nodes)
    columns.push_back({"ON NODES (* this one)"});
  text_table table(std::move(columns));
  for (const auto& service : services.services()) {
    const bool keyed = is_keyed(service);
    std::vector<std::string> row{service.name(), or_dash(service.kind()), or_dash(service.status()),
                                 std::to_string(keyed ? service.active_actors() : service.instances()),
                                 std::to_string(service.restarts()), std::to_string(service.inflight()),
                                 std::to_string(service.calls_shed()),
                                 std::to_string(service.slow_calls())};
    if (any_state) {
      const bool stateful = service.has_state();
      row.push_back(stateful ? std::to_string(service.state().keys()) : "-");
      row.push_back(stateful ? format_bytes(service.state().disk_bytes()) : "-");
    }
    if (any_nodes)
      row.push_back(printable(or_dash(per_node_shares(service))));
    table.add_row(std::move(row));
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
  if (service.has_state())
    add_state_lines(service.state(), lines);

  std::string out = labelled(lines);
  if (service.nodes_size() > 0) {
    out += "\nNodes:\n";
    text_table table({{"NODE"}, {"STATE"}, {keyed ? "KEYS" : "INSTANCES", align::right}});
    for (const auto& on : service.nodes())
      table.add_row({printable(on.node() + (on.self() ? " (this node)" : "")), or_dash(on.state()),
                     std::to_string(keyed ? on.keys() : on.instances())});
    out += table.render();
  }
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

std::string render_stored_state(const stored_state& state) {
  const auto& head = state.head;
  return labelled({
             {"Service", head.service()},
             {"Key", head.key()},
             {"Version", std::to_string(head.version())},
             {"Type", or_dash(head.type())},
         })
         + pretty_json(state.state_json) + "\n";
}

std::string render_backup(const admin::v1::Backup& backup) {
  return printable("backup written to " + backup.dir() + ": " + std::to_string(backup.files())
                   + " files, " + format_bytes(backup.bytes()) + ", in "
                   + format_millis(backup.elapsed_ms()))
         + "\n";
}

} // namespace troupe::shell
