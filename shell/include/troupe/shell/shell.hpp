// `troupe shell`: the cluster admin shell. The command-line front end
// (program/) fills shell_options from its flags and calls run_shell.
#pragma once

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

namespace troupe::shell {

struct shell_options {
  /// The node's admin API, `http://HOST:PORT`.
  std::string url = "http://127.0.0.1:8080";

  /// One-shot mode (-c): carry out this command and exit.
  std::optional<std::string> command;

  /// Bounds each request to the node, and is the deadline of each `call`
  /// (sent to the node, which answers 504 past it). nullopt: 10 s for
  /// requests, and for calls the node's own request timeout, which the shell
  /// asks the node for.
  std::optional<std::chrono::milliseconds> timeout;

  /// Where results go, and where one-line errors go. Not owned.
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;

  /// Where commands come from when there is no -c. When this is std::cin and
  /// standard input is a terminal, the shell is interactive: prompt, line
  /// editing and history; Ctrl-C drops the line being typed, or stops
  /// waiting for the command in progress, and Ctrl-D at an empty prompt
  /// quits. Otherwise lines are read as a script (and Ctrl-C ends the
  /// process as usual). Not owned.
  std::istream* in = &std::cin;

  /// The history of the interactive shell; nullopt: default_history_file()
  /// ($TROUPE_HISTORY or ~/.troupe_history); an empty path: no history.
  std::optional<std::filesystem::path> history_file;
};

/// Runs the shell and returns the process exit status:
/// - one-shot: 0 when the command succeeded, 1 when it failed (node
///   unreachable, problem answer), 2 on a usage error (bad command or URL);
/// - interactive: 0 on quit, exit or end of input; 2 for a bad URL;
/// - script: runs every line and returns the worst status among them.
/// Never throws; every error is one line on `err`, starting "error: ".
int run_shell(const shell_options& options);

} // namespace troupe::shell
