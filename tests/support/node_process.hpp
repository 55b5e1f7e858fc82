// Starts real `troupe` processes for integration tests: a node on 127.0.0.1
// with a free port and a fresh data directory, stopped (and its directory
// removed) when the handle goes away; and one-shot commands with a time limit.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace troupe::test {

struct command_result {
  int exit_code = -1;  // -1: killed after the time limit
  std::string out;
  std::string err;
};

/// Runs argv[0] with the arguments, waits at most `timeout`, captures output.
command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// The examples' module paths.
std::string counter_module();
std::string greeter_module();
/// A module from tests/modules, e.g. test_module("faulty").
std::string test_module(const std::string& name);

struct node_process_options {
  /// false: once the node is ready its stderr pipe is not read, so it fills
  /// up and the node's writes to it block, until start_reading_stderr() or
  /// terminate().
  bool read_stderr = true;
  /// The node's --data directory; empty: a fresh one, removed with the
  /// node_process. A given one is left as it is: the caller owns it (to start
  /// another node on the same data, say).
  std::string data_dir;
};

class node_process {
public:
  /// Starts `troupe node --http 127.0.0.1:0 --data <fresh dir> <args...>` and
  /// waits (at most 20 s) for its ready line. Throws when it does not come.
  explicit node_process(std::vector<std::string> args, node_process_options options = {});
  ~node_process();

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  std::uint16_t port() const noexcept {
    return port_;
  }
  /// "http://127.0.0.1:PORT"
  std::string url() const;
  pid_t pid() const noexcept {
    return pid_;
  }

  /// Ends the node with SIGKILL (kill -9) and waits for it; its exit status.
  int kill_now();

  /// Sends SIGSTOP and waits (up to `timeout`) until every thread of the node
  /// has stopped; false if one still runs then. kill() returns before the
  /// kernel has stopped them: on a busy machine a thread of the node can go
  /// on serving calls for milliseconds, and a test that sends calls "to a
  /// frozen node" right after kill() would see them answered.
  bool freeze(std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// Sends SIGCONT.
  void thaw();

  /// Sends SIGTERM and waits up to `timeout`; returns the exit status (or -1
  /// when it had to be killed).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds{20});

  /// Everything the node wrote to stderr so far (that was read).
  std::string stderr_text() const;

  /// The last `lines` lines of stderr_text(): for a failure message.
  std::string stderr_tail(std::size_t lines = 30) const;

  /// Waits up to `timeout` for the node to end by itself; its exit status
  /// (128 + the signal when a signal ended it), or -2 while it still runs.
  int wait_exit(std::chrono::milliseconds timeout);

  /// Reads the node's stderr from now on (see node_process_options).
  void start_reading_stderr();

private:
  void drain_output();

  pid_t pid_ = -1;
  int exit_status_ = -1;
  bool exited_ = false;
  std::uint16_t port_ = 0;
  std::string data_dir_;
  bool owns_data_dir_ = true;
  int out_fd_ = -1;
  int err_fd_ = -1;
  mutable std::mutex mtx_;
  std::string err_text_;
  std::atomic<bool> reading_stderr_{true};
  std::thread drainer_;
};

} // namespace troupe::test
