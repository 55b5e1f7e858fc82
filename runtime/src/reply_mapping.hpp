// Conversions between troupe::status, reply_envelope and CAF's errors.
#pragma once

#include <chrono>

#include <caf/error.hpp>

#include "troupe/runtime/envelope.hpp"
#include "troupe/status.hpp"

namespace troupe::runtime {

/// A request that failed inside CAF: timeouts become deadline_exceeded, a
/// receiver that went away becomes unavailable, anything else internal.
status to_status(const caf::error& err);

reply_envelope to_reply(const status& st);

inline status to_status(const reply_envelope& r) {
  return status{status_code_from_int(r.code), r.message};
}

/// The answers the runtime itself gives, worded once.
status deadline_passed();
status service_failed(const std::string& service);

/// The answer for a quarantined key: unavailable, retry after `left`.
reply_envelope key_quarantined(std::chrono::milliseconds left);

/// Unix time in nanoseconds, the unit of envelope deadlines.
std::int64_t unix_now_ns() noexcept;

/// The same within a few milliseconds, for hot paths that only compare
/// against deadlines: several times cheaper than unix_now_ns().
std::int64_t unix_coarse_now_ns() noexcept;

/// True when a call due at `deadline_unix_ns` (0: none) must not start: its
/// deadline passed, or is nearer than the coarse clock can tell apart, so
/// that a call whose caller was already answered deadline_exceeded (the
/// gateway's 504, timed by a precise clock) never runs afterwards.
bool too_late_to_start(std::int64_t deadline_unix_ns) noexcept;

/// Monotonic time in nanoseconds within a few milliseconds: for measuring
/// how long a handler ran, at the cost of unix_coarse_now_ns().
std::int64_t steady_coarse_now_ns() noexcept;

} // namespace troupe::runtime
