// `troupe shell --url URL [-c COMMAND]`: the admin shell.
#include <cstdio>
#include <sstream>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "options.hpp"
#include "troupe/shell/shell.hpp"

namespace po = boost::program_options;

namespace troupe::cli {

int run_shell_command(const std::vector<std::string>& args) {
  po::options_description desc{"troupe shell options"};
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("version,V", "print the version")
    ("url", po::value<std::string>()->default_value("http://127.0.0.1:8080"),
     "the node's address")
    ("command,c", po::value<std::string>(), "run one command and exit")
    ("timeout", po::value<std::string>(),
     "how long to wait for each answer, and each call's deadline "
     "(default: 10s; for calls, the node's --request-timeout)");
  // clang-format on
  po::variables_map vm;
  shell::shell_options opts;
  try {
    const auto parsed = po::command_line_parser(args).options(desc).run();
    // Program_options would drop words that are not options, silently.
    for (const auto& option : parsed.options)
      if (option.position_key >= 0 && !option.value.empty())
        throw usage_error("unexpected argument '" + option.value.front()
                          + "': to run one command, use -c '" + option.value.front() + "'");
    po::store(parsed, vm);
    po::notify(vm);
    if (vm.count("version"))
      return print_version();
    if (vm.count("help")) {
      std::ostringstream help;
      help << "usage: troupe shell [--url URL] [-c COMMAND]\n\n" << desc
           << "\nType 'help' in the shell for its commands. Ctrl-C drops the line being"
              "\ntyped or stops waiting for the command in progress; Ctrl-D quits.\n";
      std::fputs(help.str().c_str(), stdout);
      return 0;
    }
    opts.url = vm["url"].as<std::string>();
    if (vm.count("command"))
      opts.command = vm["command"].as<std::string>();
    if (vm.count("timeout")) {
      opts.timeout = parse_duration("timeout", vm["timeout"].as<std::string>());
      if (opts.timeout->count() == 0)
        throw usage_error("--timeout: must be greater than 0");
    }
  } catch (const po::error& e) {
    std::fprintf(stderr, "troupe shell: %s\n", e.what());
    return 2;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "troupe shell: %s\n", e.what());
    return 2;
  }
  return shell::run_shell(opts);
}

} // namespace troupe::cli
