#include "support/node_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace troupe::test {

namespace {

using clock = std::chrono::steady_clock;

std::string make_temp_dir() {
  auto base = std::filesystem::temp_directory_path() / "troupe-test-XXXXXX";
  std::string tmpl = base.string();
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

/// fork + exec with stdout and stderr on pipes; stdin from /dev/null.
pid_t spawn(const std::vector<std::string>& argv, int& out_fd, int& err_fd) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  std::vector<char*> cargv;
  for (auto& a : argv)
    cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    // The child must not inherit the test's blocked signal mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  out_fd = out[0];
  err_fd = err[0];
  return pid;
}

/// Reads what is available from fd into `sink`; false at EOF.
bool read_some(int fd, std::string& sink) {
  char buf[4096];
  auto n = read(fd, buf, sizeof(buf));
  if (n <= 0)
    return false;
  sink.append(buf, static_cast<size_t>(n));
  return true;
}

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

} // namespace

std::string counter_module() {
  return std::string{TROUPE_EXAMPLES_DIR} + "/libcounter.so";
}

std::string greeter_module() {
  return std::string{TROUPE_EXAMPLES_DIR} + "/libgreeter.so";
}

std::string test_module(const std::string& name) {
  return std::string{TROUPE_TEST_MODULES_DIR} + "/lib" + name + ".so";
}

command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
  command_result result;
  int out_fd = -1, err_fd = -1;
  auto pid = spawn(argv, out_fd, err_fd);
  auto deadline = clock::now() + timeout;
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && clock::now() < deadline) {
    pollfd fds[2] = {{out_open ? out_fd : -1, POLLIN, 0},
                     {err_open ? err_fd : -1, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (poll(fds, 2, static_cast<int>(std::max<long>(1, left.count()))) <= 0)
      continue;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP)))
      out_open = read_some(out_fd, result.out);
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP)))
      err_open = read_some(err_fd, result.err);
  }
  int status = 0;
  bool exited = false;
  while (clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    usleep(10'000);
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    result.exit_code = -1;
  } else {
    result.exit_code = decode_status(status);
  }
  close(out_fd);
  close(err_fd);
  return result;
}

node_process::node_process(std::vector<std::string> args, node_process_options options) {
  owns_data_dir_ = options.data_dir.empty();
  data_dir_ = owns_data_dir_ ? make_temp_dir() : options.data_dir;
  std::vector<std::string> argv{TROUPE_BINARY, "node", "--http", "127.0.0.1:0",
                                "--data", data_dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = spawn(argv, out_fd_, err_fd_);
  // Wait for "troupe node NAME ready: http://127.0.0.1:PORT". Generous: a
  // start opens and syncs its stores, and a loaded CI machine has been seen
  // to take over 20 s for it.
  std::string out;
  auto deadline = clock::now() + std::chrono::seconds{60};
  std::string::size_type pos = std::string::npos;
  while (clock::now() < deadline) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (poll(fds, 2, 100) > 0) {
      if (fds[1].revents & (POLLIN | POLLHUP)) {
        std::lock_guard guard{mtx_};
        read_some(err_fd_, err_text_);
      }
      if ((fds[0].revents & (POLLIN | POLLHUP)) && !read_some(out_fd_, out))
        break;  // stdout closed: the node died
    }
    pos = out.find("ready: http://127.0.0.1:");
    if (pos != std::string::npos && out.find('\n', pos) != std::string::npos)
      break;
  }
  if (pos == std::string::npos) {
    auto err = stderr_text();
    terminate(std::chrono::seconds{5});
    throw std::runtime_error("troupe node did not become ready; stderr: " + err);
  }
  port_ = static_cast<std::uint16_t>(
    std::atoi(out.c_str() + pos + std::strlen("ready: http://127.0.0.1:")));
  // Keep reading both pipes so the node never blocks on a full pipe (stderr
  // only when asked to).
  reading_stderr_.store(options.read_stderr);
  drainer_ = std::thread{[this] { drain_output(); }};
}

node_process::~node_process() {
  terminate(std::chrono::seconds{20});
  if (drainer_.joinable())
    drainer_.join();
  close(out_fd_);
  close(err_fd_);
  if (owns_data_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

std::string node_process::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::string node_process::stderr_text() const {
  std::lock_guard guard{mtx_};
  return err_text_;
}

std::string node_process::stderr_tail(std::size_t lines) const {
  auto text = stderr_text();
  auto start = text.size();
  for (std::size_t seen = 0; start > 0 && seen <= lines; --start)
    if (text[start - 1] == '\n')
      ++seen;
  if (start > 0)
    start += 1;  // just past the newline that ends the line before
  return text.substr(start);
}

void node_process::start_reading_stderr() {
  reading_stderr_.store(true);
}

void node_process::drain_output() {
  std::string ignored;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    // Polled often enough to take up stderr soon after start_reading_stderr().
    pollfd fds[2] = {{out_open ? out_fd_ : -1, POLLIN, 0},
                     {err_open && reading_stderr_.load() ? err_fd_ : -1, POLLIN, 0}};
    if (poll(fds, 2, 50) <= 0) {
      std::lock_guard guard{mtx_};
      if (exited_)
        return;
      continue;
    }
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP))) {
      ignored.clear();
      out_open = read_some(out_fd_, ignored);
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP))) {
      std::lock_guard guard{mtx_};
      err_open = read_some(err_fd_, err_text_);
    }
  }
}

int node_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      std::lock_guard guard{mtx_};
      exited_ = true;
      exit_status_ = decode_status(status);
      return exit_status_;
    }
    usleep(10'000);
  }
  return -2;
}

namespace {

/// True when every thread of `pid` is stopped (state T in its stat line).
bool all_threads_stopped(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks{"/proc/" + std::to_string(pid) + "/task", ec};
  if (ec)
    return false;
  bool any = false;
  for (const auto& task : tasks) {
    std::ifstream in{task.path() / "stat"};
    std::string line;
    std::getline(in, line);
    // "tid (comm) S ...": the state follows the last ')', as comm may hold one.
    auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'T')
      return false;
    any = true;
  }
  return any;
}

} // namespace

bool node_process::freeze(std::chrono::milliseconds timeout) {
  ::kill(pid_, SIGSTOP);
  auto deadline = clock::now() + timeout;
  while (!all_threads_stopped(pid_)) {
    if (clock::now() >= deadline)
      return false;
    usleep(1'000);
  }
  return true;
}

void node_process::thaw() {
  ::kill(pid_, SIGCONT);
}

int node_process::kill_now() {
  {
    std::lock_guard guard{mtx_};
    if (exited_ || pid_ <= 0)
      return exit_status_;
  }
  kill(pid_, SIGKILL);
  return wait_exit(std::chrono::seconds{20});
}

int node_process::terminate(std::chrono::milliseconds timeout) {
  {
    std::lock_guard guard{mtx_};
    if (exited_ || pid_ <= 0)
      return exit_status_;
  }
  // A node writes its log out before it exits.
  start_reading_stderr();
  kill(pid_, SIGTERM);
  auto rc = wait_exit(timeout);
  if (rc == -2) {
    kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds{10});
    std::lock_guard guard{mtx_};
    exit_status_ = -1;
    return -1;
  }
  return rc;
}

} // namespace troupe::test
