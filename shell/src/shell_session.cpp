#include "shell_session.hpp"

#include <exception>
#include <variant>

#include "errors.hpp"
#include "json_text.hpp"
#include "service_names.hpp"
#include "text_table.hpp"
#include "views.hpp"

namespace troupe::shell {

int exit_status(line_outcome outcome) noexcept {
  switch (outcome) {
  case line_outcome::done:
  case line_outcome::quit: return 0;
  case line_outcome::failed: return 1;
  case line_outcome::usage_error: return 2;
  case line_outcome::cancelled: return 130;
  }
  return 1;
}

shell_session::shell_session(admin_api api, std::ostream& out, std::ostream& err,
                             std::optional<std::chrono::milliseconds> call_timeout)
  : api_(std::move(api)), call_timeout_(call_timeout), out_(&out), err_(&err) {}

line_outcome shell_session::report(line_outcome outcome, std::string_view message) {
  *err_ << "error: " << printable(std::string(message)) << '\n' << std::flush;
  return outcome;
}

line_outcome shell_session::execute(std::string_view line) {
  try {
    const command parsed = parse_command(line);
    if (std::holds_alternative<quit_command>(parsed))
      return line_outcome::quit;
    std::visit([this](const auto& cmd) { run(cmd); }, parsed);
    out_->flush();
    return line_outcome::done;
  } catch (const command_cancelled& e) {
    out_->flush();
    *err_ << e.what() << '\n' << std::flush;
    return line_outcome::cancelled;
  } catch (const usage_error& e) {
    return report(line_outcome::usage_error, e.what());
  } catch (const command_failed& e) {
    return report(line_outcome::failed, e.what());
  } catch (const std::exception& e) {
    return report(line_outcome::failed, e.what());
  } catch (...) {
    return report(line_outcome::failed, "unexpected failure");
  }
}

line_outcome shell_session::greet() {
  try {
    const auto node = api_.node();
    learn_deadline(node);
    *out_ << "Connected to " << printable(node.name()) << " (Troupe " << printable(node.version())
          << ") at " << url().to_string() << ". Type 'help' for commands.\n"
          << std::flush;
    return line_outcome::done;
  } catch (const command_cancelled& e) {
    *err_ << e.what() << '\n' << std::flush;
    return line_outcome::cancelled;
  } catch (const std::exception& e) {
    return report(line_outcome::failed, e.what());
  }
}

void shell_session::learn_deadline(const admin::v1::NodeInfo& node) {
  if (!call_timeout_)
    call_timeout_ = node.request_timeout_ms() > 0
                        ? std::chrono::milliseconds(node.request_timeout_ms())
                        : admin_client::default_timeout;
}

std::chrono::milliseconds shell_session::call_deadline() {
  if (!call_timeout_)
    learn_deadline(api_.node());
  return *call_timeout_;
}

void shell_session::run(const help_command& help) {
  *out_ << help_text(help.topic);
}

void shell_session::run(const node_command&) {
  const auto node = api_.node();
  learn_deadline(node);
  *out_ << render_node(node);
}

void shell_session::run(const nodes_command&) {
  *out_ << render_nodes(api_.nodes());
}

void shell_session::run(const modules_command&) {
  *out_ << render_modules(api_.modules());
}

void shell_session::run(const services_command&) {
  *out_ << render_services(api_.services());
}

void shell_session::run(const describe_command& describe) {
  *out_ << render_service(find_service(describe.service));
}

void shell_session::run(const reset_command& reset) {
  const auto name = full_service_name(reset.service);
  const auto service = api_.reset(name);
  *out_ << "reset " << printable(name);
  if (!service.status().empty())
    *out_ << " (status: " << printable(service.status()) << ')';
  *out_ << '\n';
}

void shell_session::run(const where_command& where) {
  const auto service = find_service(where.service);
  if (service.kind() != "keyed")
    throw usage_error(service.name() + " is not keyed: its instances serve any call");
  const auto location = api_.where(service.name(), where.key);
  *out_ << printable(location.key()) << " of " << printable(location.service()) << " is on "
        << printable(location.node()) << " (" << printable(location.node_state());
  if (!location.http_address().empty())
    *out_ << ", http://" << printable(location.http_address());
  *out_ << ")" << (location.local() ? ", this node" : "") << '\n';
}

void shell_session::run(const drain_command& drain) {
  const auto accepted = api_.drain(drain.node);
  *out_ << "draining " << printable(accepted.node()) << ": " << printable(accepted.detail())
        << '\n';
}

void shell_session::run(const remove_command& remove) {
  const auto removed = api_.remove(remove.node);
  *out_ << "removed " << printable(removed.node()) << ": " << printable(removed.detail()) << '\n';
}

void shell_session::run(const call_command& call) {
  const auto service = find_service(call.service);
  const auto method = resolve_method_name(call.method, service);
  if (service.kind() == "keyed" && !call.key)
    throw usage_error(service.name() + " is keyed: give a KEY (call SERVICE METHOD KEY JSON)");
  const auto response = api_.call(service.name(), method, call.key, call.json, call_deadline());
  *out_ << pretty_json(response) << '\n';
}

void shell_session::run(const state_command& state) {
  *out_ << render_stored_state(api_.state(full_service_name(state.service), state.key));
}

void shell_session::run(const delete_state_command& del) {
  const auto deleted = api_.delete_state(full_service_name(del.service), del.key);
  *out_ << "deleted the state of key '" << printable(deleted.head.key()) << "' of "
        << printable(deleted.head.service()) << " (version " << deleted.head.version()
        << "); it was:\n"
        << pretty_json(deleted.state_json) << '\n';
}

void shell_session::run(const backup_command& backup) {
  *out_ << render_backup(api_.backup(backup.dir, call_deadline()));
}

std::string shell_session::full_service_name(std::string_view name) {
  if (is_qualified_service_name(name))
    return std::string(name);
  return resolve_service_name(name, api_.services());
}

admin::v1::ServiceInfo shell_session::find_service(std::string_view name) {
  return api_.service(full_service_name(name));
}

} // namespace troupe::shell
