#include "reply_mapping.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include <caf/sec.hpp>

namespace troupe::runtime {

status to_status(const caf::error& err) {
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return deadline_passed();
      case caf::sec::request_receiver_down:
        return status{status_code::unavailable, "the service instance went away"};
      default:
        break;
    }
  }
  return status{status_code::internal, "the call failed inside the runtime"};
}

status deadline_passed() {
  return status{status_code::deadline_exceeded, "the deadline passed"};
}

status service_failed(const std::string& service) {
  return status{status_code::unavailable,
                "service " + service + " has failed and is stopped"};
}

reply_envelope key_quarantined(std::chrono::milliseconds left) {
  auto r = to_reply(status{status_code::unavailable,
                           "this key's actor is quarantined after repeated failures; "
                           "retry later"});
  auto ms = std::max<std::chrono::milliseconds::rep>(1, left.count());
  r.retry_after_ms = static_cast<std::uint32_t>(
    std::min<std::chrono::milliseconds::rep>(ms, std::numeric_limits<std::uint32_t>::max()));
  return r;
}

reply_envelope to_reply(const status& st) {
  return reply_envelope{static_cast<std::int32_t>(st.code()), 0, {}, st.message(), {}};
}

std::int64_t unix_now_ns() noexcept {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t unix_coarse_now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

namespace {

/// How far CLOCK_REALTIME_COARSE may lag the precise clock: its resolution.
std::int64_t coarse_resolution_ns() noexcept {
  timespec res{};
  if (::clock_getres(CLOCK_REALTIME_COARSE, &res) != 0)
    return 10'000'000;
  return std::int64_t{res.tv_sec} * 1'000'000'000 + res.tv_nsec;
}

/// Set once at start (no guard on the call path, unlike a function's static).
const std::int64_t coarse_margin_ns = coarse_resolution_ns();

} // namespace

bool too_late_to_start(std::int64_t deadline_unix_ns) noexcept {
  return deadline_unix_ns != 0 && unix_coarse_now_ns() + coarse_margin_ns >= deadline_unix_ns;
}

std::int64_t steady_coarse_now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

} // namespace troupe::runtime
