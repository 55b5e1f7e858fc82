#include "interrupts.hpp"

#include <cerrno>
#include <system_error>

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace troupe::shell {

interrupts::interrupts() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  if (const int error = pthread_sigmask(SIG_BLOCK, &set, &previous_mask_); error != 0)
    throw std::system_error(error, std::generic_category(), "cannot block SIGINT");
  fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd_ < 0) {
    const int error = errno;
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
    throw std::system_error(error, std::generic_category(), "cannot watch SIGINT");
  }
}

interrupts::~interrupts() {
  take();
  ::close(fd_);
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

bool interrupts::take() noexcept {
  bool taken = false;
  signalfd_siginfo info;
  for (;;) {
    const auto n = ::read(fd_, &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) {
      taken = true;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return taken;  // EAGAIN: nothing (more) pending
  }
}

} // namespace troupe::shell
