#include "troupe/shell/shell.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <string>

#include <unistd.h>

#include "admin_api.hpp"
#include "errors.hpp"
#include "interrupts.hpp"
#include "line_editor.hpp"
#include "shell_session.hpp"
#include "url.hpp"

namespace troupe::shell {

namespace {

constexpr const char* prompt = "troupe> ";

// Ctrl-C, pending in CTRL_C, is taken after each line typed and each
// command: a press meant for one of them (the line dropped, the call given
// up) or made while output was printing must not cancel the next.
int run_interactive(shell_session& session, const shell_options& options, interrupts& ctrl_c) {
  const auto history_file = options.history_file.value_or(default_history_file());
  line_editor editor(history_file, ctrl_c.fd());
  session.greet();
  ctrl_c.take();
  bool warned_about_history = false;
  for (;;) {
    const auto input = editor.read_line(prompt);
    if (input.what == typed_input::kind::end)
      break;
    if (input.what == typed_input::kind::interrupt) {
      ctrl_c.take();
      continue;
    }
    if (!editor.remember(input.text) && !warned_about_history) {
      *options.err << "warning: cannot write the history file " << history_file.string() << '\n';
      warned_about_history = true;
    }
    const auto outcome = session.execute(input.text);
    ctrl_c.take();
    if (outcome == line_outcome::quit)
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
    const bool interactive =
        !options.command && options.in == &std::cin && ::isatty(STDIN_FILENO);
    // Before the client's first request starts its resolver thread.
    std::optional<interrupts> ctrl_c;
    if (interactive)
      ctrl_c.emplace();
    admin_client client(std::move(url), options.timeout.value_or(admin_client::default_timeout));
    if (ctrl_c)
      client.cancel_on(ctrl_c->fd());
    shell_session session(admin_api(std::move(client)), *options.out, err, options.timeout);
    if (options.command)
      return exit_status(session.execute(*options.command));
    if (ctrl_c)
      return run_interactive(session, options, *ctrl_c);
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
