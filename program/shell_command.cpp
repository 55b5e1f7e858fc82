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
    ("url", po::value<std::string>()->default_value("http://127.0.0.1:8080"),
     "the node's address")
    ("command,c", po::value<std::string>(), "run one command and exit")
    ("timeout", po::value<std::string>()->default_value("10s"),
     "how long to wait for each answer");
  // clang-format on
  po::variables_map vm;
  shell::shell_options opts;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::ostringstream help;
      help << "usage: troupe shell [--url URL] [-c COMMAND]\n\n" << desc
           << "\nType 'help' in the shell for its commands.\n";
      std::fputs(help.str().c_str(), stdout);
      return 0;
    }
    opts.url = vm["url"].as<std::string>();
    if (vm.count("command"))
      opts.command = vm["command"].as<std::string>();
    opts.timeout = parse_duration("timeout", vm["timeout"].as<std::string>());
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
