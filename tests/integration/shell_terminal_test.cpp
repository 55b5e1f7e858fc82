// `troupe shell` at a terminal: a real pseudo-terminal (forkpty), keys typed
// as a user types them, and a real node. Ctrl-C drops the line being typed
// or stops waiting for a call, and never ends the shell; Ctrl-D at an empty
// prompt quits with status 0.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

using steady = std::chrono::steady_clock;

constexpr auto wait_limit = std::chrono::seconds{20};
constexpr const char* prompt = "troupe> ";
constexpr const char* ctrl_c = "\x03";
constexpr const char* ctrl_d = "\x04";

/// `troupe shell --url URL` on the slave side of a pseudo-terminal, as its
/// controlling terminal; the test holds the master side: what it writes is
/// typed, what it reads is the screen's text. Killed, if still running, at
/// the end.
class terminal_shell {
public:
  terminal_shell(const std::string& url, const temp_dir& dir) {
    winsize size{};
    size.ws_row = 40;
    size.ws_col = 200;  // long table lines stay on one line
    const std::string history = dir.path() + "/history";
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ < 0)
      throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      // The shell must see SIGINT as a user's shell gives it: not blocked,
      // not ignored.
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      signal(SIGINT, SIG_DFL);
      setenv("TERM", "xterm", 1);
      setenv("TROUPE_HISTORY", history.c_str(), 1);
      execl(TROUPE_BINARY, TROUPE_BINARY, "shell", "--url", url.c_str(), nullptr);
      _exit(127);
    }
  }

  ~terminal_shell() {
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(master_);
  }

  terminal_shell(const terminal_shell&) = delete;
  terminal_shell& operator=(const terminal_shell&) = delete;

  void type(const std::string& keys) {
    REQUIRE(::write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }

  /// Where the screen's text ends now: wait_for and since look from here.
  std::size_t mark() {
    read_available(std::chrono::milliseconds{0});
    return screen_.size();
  }

  /// Whether TEXT appears after FROM within the wait limit.
  bool wait_for(const std::string& text, std::size_t from = 0) {
    const auto deadline = steady::now() + wait_limit;
    for (;;) {
      if (screen_.find(text, from) != std::string::npos)
        return true;
      const auto left = deadline - steady::now();
      if (left <= steady::duration::zero())
        return false;
      if (!read_available(std::chrono::duration_cast<std::chrono::milliseconds>(left)))
        return screen_.find(text, from) != std::string::npos;  // the shell is gone
    }
  }

  /// The screen's text after FROM.
  std::string since(std::size_t from) const { return screen_.substr(from); }
  const std::string& screen() const { return screen_; }

  /// Whether the shell process is still running.
  bool running() {
    if (exited_)
      return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return !exited_;
  }

  /// The shell's exit status once it has exited within the wait limit; -1
  /// when it did not (or died of a signal).
  int wait_exit() {
    const auto deadline = steady::now() + wait_limit;
    while (running() && steady::now() < deadline)
      read_available(std::chrono::milliseconds{50});
    if (!exited_ || !WIFEXITED(status_))
      return -1;
    return WEXITSTATUS(status_);
  }

private:
  // Appends what the terminal shows within WAIT; false once the slave side
  // is closed (the shell exited).
  bool read_available(std::chrono::milliseconds wait) {
    pollfd fd{master_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(wait.count())) <= 0)
      return true;
    char buf[4096];
    const auto n = ::read(master_, buf, sizeof buf);
    if (n <= 0)
      return false;
    screen_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string screen_;
};

std::vector<std::string> node_args() {
  return {"--module", counter_module(), "--module", greeter_module(), "--module",
          test_module("faulty")};
}

} // namespace

TEST_CASE("shell terminal: Ctrl-C drops the line being typed", "[shell][terminal]") {
  node_process node{node_args()};
  temp_dir dir;
  terminal_shell shell{node.url(), dir};
  REQUIRE(shell.wait_for(prompt));

  auto from = shell.mark();
  shell.type("junk");
  REQUIRE(shell.wait_for("junk", from));  // echoed: the editor has the text
  from = shell.mark();
  shell.type(ctrl_c);
  INFO(shell.screen());
  REQUIRE(shell.wait_for(prompt, from));

  // The next command is only what is typed after Ctrl-C.
  from = shell.mark();
  shell.type("services\r");
  REQUIRE(shell.wait_for("demo.greeter.v1.Greeter", from));
  CHECK_FALSE(contains(shell.since(from), "unknown command"));
  CHECK(shell.running());
}

TEST_CASE("shell terminal: Ctrl-C during a slow call returns to the prompt",
          "[shell][terminal]") {
  node_process node{node_args()};
  temp_dir dir;
  terminal_shell shell{node.url(), dir};
  REQUIRE(shell.wait_for(prompt));

  auto from = shell.mark();
  shell.type(R"(call Faulty Slow {"millis": 5000})" "\r");
  // Ctrl-C once the node runs the call: the shell is waiting for its answer.
  REQUIRE(eventually(
    [&] { return admin_service(node.port(), "test.faulty.v1.Faulty").calls() >= 1; }));
  shell.type(ctrl_c);
  INFO(shell.screen());
  REQUIRE(shell.wait_for("cancelled", from));
  const auto cancelled = shell.screen().find("cancelled", from);
  REQUIRE(shell.wait_for(prompt, cancelled));

  // The session goes on, and the abandoned answer never shows.
  from = shell.mark();
  shell.type("services\r");
  REQUIRE(shell.wait_for("test.faulty.v1.FaultyKeyed", from));
  REQUIRE(shell.wait_for(prompt, from));
  CHECK_FALSE(contains(shell.since(cancelled), "millis"));
  CHECK(shell.running());
}

TEST_CASE("shell terminal: Ctrl-D at an empty prompt quits with status 0", "[shell][terminal]") {
  node_process node{node_args()};
  temp_dir dir;
  terminal_shell shell{node.url(), dir};
  REQUIRE(shell.wait_for(prompt));

  // Ctrl-C at an empty prompt only gives a new one.
  auto from = shell.mark();
  shell.type(ctrl_c);
  REQUIRE(shell.wait_for(prompt, from));
  CHECK(shell.running());

  shell.type(ctrl_d);
  INFO(shell.screen());
  CHECK(shell.wait_exit() == 0);
}
