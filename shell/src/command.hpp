// What the user asked the shell to do, parsed from one line but not yet
// carried out. Parsing needs no node, so every usage error is found before
// anything is sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace troupe::shell {

struct blank_command {};      // empty line or a '#' comment
struct help_command {
  std::string topic;          // a command name; empty: all commands
};
struct quit_command {};       // quit, exit
struct node_command {};       // the node the shell is connected to
struct nodes_command {};
struct modules_command {};
struct services_command {};
struct describe_command {
  std::string service;
};
struct reset_command {
  std::string service;
};
struct where_command {        // which node owns a key
  std::string service;
  std::string key;
};
struct drain_command {        // hand a node's keys over, then it leaves
  std::string node;
};
struct remove_command {       // a down node is gone for good
  std::string node;
};
struct call_command {
  std::string service;
  std::string method;
  std::optional<std::string> key;  // keyed services only
  std::string json;                // the request message; "{}" when omitted
};

// The state store.
struct state_command {         // state SERVICE KEY
  std::string service;
  std::string key;
};
struct delete_state_command {  // delete-state SERVICE KEY
  std::string service;
  std::string key;
};
struct backup_command {        // backup DIR
  std::string dir;             // absolute, on the node's machine
};

using command = std::variant<blank_command, help_command, quit_command, node_command,
                             nodes_command, modules_command, services_command,
                             describe_command, reset_command, call_command, state_command,
                             delete_state_command, backup_command, where_command,
                             drain_command, remove_command>;

/// The words that start a command, for completion.
inline constexpr std::string_view command_names[] = {
    "backup", "call", "delete-state", "describe", "drain", "exit", "help", "modules", "node",
    "nodes", "quit", "remove", "reset", "services", "state", "where"};

/// Parses one line. Words are read by word_reader. For `call SERVICE METHOD
/// [KEY] JSON` everything after the fixed words is the JSON, verbatim (or one
/// quoted word, unquoted); KEY is present when the text after METHOD does not
/// start with '{' (quote a key that does). Throws usage_error, e.g.
/// "unknown command 'foo' (try 'help')".
command parse_command(std::string_view line);

/// The help text: every command when TOPIC is empty, else the one named.
/// Throws usage_error for an unknown topic.
std::string help_text(std::string_view topic = {});

} // namespace troupe::shell
