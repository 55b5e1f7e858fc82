// Carries out the shell's command lines against one node. Used alike by the
// REPL, by one-shot mode (-c) and by scripts piped into the shell.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string_view>

#include "admin_api.hpp"
#include "command.hpp"

namespace troupe::shell {

/// How a line ended.
enum class line_outcome {
  done,         // carried out (blank lines and help included)
  failed,       // command_failed: unreachable node, problem answer, ...
  usage_error,  // the line was not a valid command; nothing was sent
  cancelled,    // the user pressed Ctrl-C while it waited for the node
  quit,         // quit, exit
};

/// The exit status one-shot mode gives for OUTCOME: 0, 1 for failed, 2 for
/// a usage error, 130 (as for SIGINT) when cancelled.
int exit_status(line_outcome outcome) noexcept;

class shell_session {
public:
  /// Results go to OUT, one-line errors ("error: ...") to ERR; both must
  /// outlive the session. CALL_TIMEOUT is the deadline of each `call`;
  /// nullopt: the node's own request timeout (NodeInfo.request_timeout_ms,
  /// asked once), or admin_client::default_timeout when the node does not
  /// tell it.
  shell_session(admin_api api, std::ostream& out, std::ostream& err,
                std::optional<std::chrono::milliseconds> call_timeout = std::nullopt);

  /// Parses and carries out LINE. Never throws: whatever goes wrong is
  /// reported on ERR as one line and in the outcome.
  line_outcome execute(std::string_view line);

  /// "Connected to NODE (Troupe VERSION) at URL." as a greeting for the REPL;
  /// the error line when the node cannot be asked. Learns the node's
  /// request timeout on the way.
  line_outcome greet();

  const base_url& url() const noexcept { return api_.url(); }

private:
  line_outcome report(line_outcome outcome, std::string_view message);

  void run(const blank_command&) {}
  void run(const help_command& help);
  void run(const node_command&);
  void run(const nodes_command&);
  void run(const modules_command&);
  void run(const services_command&);
  void run(const describe_command& describe);
  void run(const reset_command& reset);
  void run(const call_command& call);
  void run(const state_command& state);
  void run(const delete_state_command& del);
  void run(const backup_command& backup);
  void run(const where_command& where);
  void run(const drain_command& drain);
  void run(const remove_command& remove);
  void run(const quit_command&) {}

  // The full name of the service the user named, asking the node for its
  // list of services only when the name is not already a full one.
  std::string full_service_name(std::string_view name);
  admin::v1::ServiceInfo find_service(std::string_view name);

  // The deadline of a call: the user's, else the node's.
  std::chrono::milliseconds call_deadline();
  void learn_deadline(const admin::v1::NodeInfo& node);

  admin_api api_;
  std::optional<std::chrono::milliseconds> call_timeout_;
  std::ostream* out_;
  std::ostream* err_;
};

} // namespace troupe::shell
