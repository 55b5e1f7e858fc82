#include "reply_mapping.hpp"

#include <time.h>

#include <chrono>

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

reply_envelope to_reply(const status& st) {
  return reply_envelope{static_cast<std::int32_t>(st.code()), {}, st.message(), {}};
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

} // namespace troupe::runtime
