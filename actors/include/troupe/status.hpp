// A call's outcome: a code from the gRPC canonical set plus a message meant for
// the caller. Handlers return it (inside troupe::reply) to refuse a request
// without being restarted; the gateway maps codes to HTTP statuses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace troupe {

enum class status_code : std::int32_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};

/// The code's canonical name in lower snake case, e.g. "invalid_argument".
std::string_view to_string(status_code code) noexcept;

/// Parses a value received from the wire; unknown values become `unknown`.
status_code status_code_from_int(std::int32_t value) noexcept;

class status {
public:
  status() = default;
  status(status_code code, std::string message)
    : code_(code), message_(std::move(message)) {
  }

  static status ok() {
    return {};
  }

  bool is_ok() const noexcept {
    return code_ == status_code::ok;
  }
  explicit operator bool() const noexcept {
    return is_ok();
  }
  status_code code() const noexcept {
    return code_;
  }
  /// Shown to the caller: must not carry internals (paths, addresses, stacks).
  const std::string& message() const noexcept {
    return message_;
  }

private:
  status_code code_ = status_code::ok;
  std::string message_;
};

} // namespace troupe
