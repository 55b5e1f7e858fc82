// troupe — one binary: `troupe node` runs a node, `troupe shell` administers one.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "troupe/version.hpp"

namespace {

constexpr const char* usage =
  "usage: troupe <command> [options]\n"
  "\n"
  "commands:\n"
  "  node      run a node: actors, modules and the HTTP gateway\n"
  "  shell     connect to a node's admin API (REPL, or -c COMMAND)\n"
  "  version   print the version (also: troupe -V, troupe --version)\n"
  "\n"
  "`troupe <command> --help` shows a command's options.\n";

} // namespace

namespace troupe::cli {

int print_version() {
  std::printf("troupe %s\n", troupe::version_string);
  return 0;
}

} // namespace troupe::cli

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "node")
    return troupe::cli::run_node(args);
  if (command == "shell")
    return troupe::cli::run_shell_command(args);
  if (command == "version" || command == "--version" || command == "-V")
    return troupe::cli::print_version();
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(usage, stdout);
    return 0;
  }
  std::fprintf(stderr, "troupe: unknown command '%s' (try 'troupe help')\n",
               command.c_str());
  return 2;
}
