#include "status_mapping.hpp"

namespace troupe::gateway {

unsigned http_status_for(status_code code) noexcept {
  switch (code) {
    case status_code::ok:
      return 200;
    case status_code::invalid_argument:
    case status_code::out_of_range:
    case status_code::failed_precondition:
      return 400;
    case status_code::unauthenticated:
      return 401;
    case status_code::permission_denied:
      return 403;
    case status_code::not_found:
      return 404;
    case status_code::already_exists:
    case status_code::aborted:
      return 409;
    case status_code::resource_exhausted:
      return 429;
    case status_code::cancelled:
      return 499;  // nginx's "client closed request", as Google maps it
    case status_code::unimplemented:
      return 501;
    case status_code::unavailable:
      return 503;
    case status_code::deadline_exceeded:
      return 504;
    case status_code::unknown:
    case status_code::internal:
    case status_code::data_loss:
      return 500;
  }
  return 500;  // a value outside the enum: treat as unknown
}

std::string retry_after_seconds(std::uint32_t ms) {
  auto seconds = (std::uint64_t{ms} + 999) / 1000;
  return std::to_string(seconds > 0 ? seconds : 1);
}

} // namespace troupe::gateway
