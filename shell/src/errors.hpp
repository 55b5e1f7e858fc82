// The two ways a shell command goes wrong, told apart because one-shot mode
// reports them with different exit statuses. Both carry a one-line message
// that the shell prints after "error: "; nothing else reaches the user.
// And the user's own way to stop one: Ctrl-C, which is not an error.
#pragma once

#include <stdexcept>
#include <string>

namespace troupe::shell {

/// The command was understood but could not be carried out: the node is
/// unreachable, it answered with a problem, the service does not exist.
/// One-shot mode exits with status 1.
class command_failed : public std::runtime_error {
public:
  explicit command_failed(const std::string& message) : std::runtime_error(message) {}
};

/// The command itself is wrong: unknown word, missing argument, bad quoting,
/// malformed URL. Nothing was sent. One-shot mode exits with status 2.
class usage_error : public std::runtime_error {
public:
  explicit usage_error(const std::string& message) : std::runtime_error(message) {}
};

/// The user pressed Ctrl-C while the command waited for the node: the shell
/// stopped waiting. What the node does with a call already sent is its own
/// business; the shell no longer hears of it.
class command_cancelled : public std::runtime_error {
public:
  command_cancelled() : std::runtime_error("cancelled") {}
};

} // namespace troupe::shell
