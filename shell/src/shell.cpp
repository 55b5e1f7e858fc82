#include "troupe/shell/shell.hpp"

#include <algorithm>
#include <exception>
#include <string>

#include <unistd.h>

#include "admin_api.hpp"
#include "errors.hpp"
#include "line_editor.hpp"
#include "shell_session.hpp"
#include "url.hpp"

namespace troupe::shell {

namespace {

constexpr const char* prompt = "troupe> ";

int run_interactive(shell_session& session, const shell_options& options) {
  const auto history_file = options.history_file.value_or(default_history_file());
  line_editor editor(history_file);
  session.greet();
  bool warned_about_history = false;
  while (const auto line = editor.read_line(prompt)) {
    if (!editor.remember(*line) && !warned_about_history) {
      *options.err << "warning: cannot write the history file " << history_file.string() << '\n';
      warned_about_history = true;
    }
    if (session.execute(*line) == line_outcome::quit)
      return 0;
  }
  *options.out << '\n';  // leave the terminal's prompt on a line of its own after Ctrl-D
  return 0;
}

int run_script(shell_session& session, std::istream& in) {
  int status = 0;
  std::string line;
  while (std::getline(in, line)) {
    const auto outcome = session.execute(line);
    if (outcome == line_outcome::quit)
      break;
    status = std::max(status, exit_status(outcome));
  }
  return status;
}

} // namespace

int run_shell(const shell_options& options) {
  std::ostream& err = *options.err;
  try {
    base_url url;
    try {
      url = parse_base_url(options.url);
    } catch (const usage_error& e) {
      err << "error: " << e.what() << '\n';
      return 2;
    }
    shell_session session(admin_api(admin_client(std::move(url), options.timeout)), *options.out,
                          err);
    if (options.command)
      return exit_status(session.execute(*options.command));
    if (options.in == &std::cin && ::isatty(STDIN_FILENO))
      return run_interactive(session, options);
    return run_script(session, *options.in);
  } catch (const std::exception& e) {
    err << "error: " << e.what() << '\n';
    return 1;
  } catch (...) {
    err << "error: unexpected failure\n";
    return 1;
  }
}

} // namespace troupe::shell
