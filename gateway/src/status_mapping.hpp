// Which HTTP status a call's outcome becomes, following Google's mapping of
// canonical codes to HTTP (google.rpc.Code / grpc-gateway):
//   ok 200; invalid_argument, out_of_range, failed_precondition 400;
//   unauthenticated 401; permission_denied 403; not_found 404;
//   already_exists, aborted 409; resource_exhausted 429; cancelled 499;
//   unknown, internal, data_loss 500; unimplemented 501; unavailable 503;
//   deadline_exceeded 504.
// A reply's retry-after hint (reply_envelope::retry_after_ms) becomes a
// Retry-After header in whole seconds, rounded up.
#pragma once

#include <cstdint>
#include <string>

#include "troupe/status.hpp"

namespace troupe::gateway {

unsigned http_status_for(status_code code) noexcept;

/// The Retry-After value (delay-seconds) for a hint of `ms` > 0: at least 1.
std::string retry_after_seconds(std::uint32_t ms);

} // namespace troupe::gateway
