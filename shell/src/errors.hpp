// The two ways a shell command goes wrong, told apart because one-shot mode
// reports them with different exit statuses. Both carry a one-line message
// that the shell prints after "error: "; nothing else reaches the user.
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

} // namespace troupe::shell
