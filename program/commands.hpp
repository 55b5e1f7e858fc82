// The subcommands of the `troupe` binary. Each returns the process exit
// status: 0 success, 1 failure at run time, 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace troupe::cli {

int run_node(const std::vector<std::string>& args);

int run_shell_command(const std::vector<std::string>& args);

/// Prints "troupe VERSION" on standard output; returns 0.
int print_version();

} // namespace troupe::cli
