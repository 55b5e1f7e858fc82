// Error responses as RFC 9457 problem details (application/problem+json):
//   {"type":"about:blank","title":"Not Found","status":404,
//    "detail":"no route for GET /v1/nope","instance":"/v1/nope"}
// With type "about:blank" the title is the status' reason phrase. `detail`
// is for the client: it names the client's mistake, never the server's
// internals. Written by protobuf's JSON mapping of troupe.admin.v1.Problem.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "http_message.hpp"

namespace troupe::gateway {

/// The reason phrase of `status`, including 499 "Client Closed Request".
std::string_view reason_phrase(unsigned status) noexcept;

/// The problem document. `detail` and `instance` are omitted when empty;
/// malformed UTF-8 or control characters in them are replaced. `reasons`,
/// when given, is the extension member "reasons" (an array of strings: why
/// the node is unready, see readiness.hpp).
std::string problem_json(unsigned status, std::string_view detail,
                         std::string_view instance,
                         std::span<const std::string> reasons = {});

/// A response carrying the problem document, with its Content-Type and
/// Content-Length set. `http_version` is 11 or 10 (that of the request).
http_response problem_response(unsigned status, std::string_view detail,
                               std::string_view instance, unsigned http_version = 11,
                               std::span<const std::string> reasons = {});

} // namespace troupe::gateway
