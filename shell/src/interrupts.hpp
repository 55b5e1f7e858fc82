// Ctrl-C in the interactive shell. While an `interrupts` object lives,
// SIGINT no longer ends the process: it makes fd() readable, which the line
// editor watches (to drop the line being typed) and the admin client
// watches (to abandon the request in progress), and take() consumes it.
// SIGINT is blocked and read through a signalfd, so no signal handler runs
// and it does not matter which thread the kernel picks for it.
#pragma once

#include <signal.h>

namespace troupe::shell {

class interrupts {
public:
  /// Blocks SIGINT in the calling thread, and so in every thread started
  /// from it later. Create it before anything starts a thread (the admin
  /// client's name resolver does, on its first request): a thread that
  /// existed before would still receive SIGINT and be killed by it.
  /// Throws std::system_error.
  interrupts();

  /// Takes a pending interrupt and unblocks SIGINT again.
  ~interrupts();

  interrupts(const interrupts&) = delete;
  interrupts& operator=(const interrupts&) = delete;

  /// Readable while an interrupt is pending; never read it directly.
  int fd() const noexcept { return fd_; }

  /// Whether Ctrl-C was pressed since the last call; consumes it.
  bool take() noexcept;

private:
  int fd_ = -1;
  sigset_t previous_mask_;
};

} // namespace troupe::shell
