// Successful JSON responses, written one way for the whole gateway (errors
// are problem documents: problem.hpp).
#pragma once

#include <string>

#include "http_message.hpp"

namespace google::protobuf {
class Message;
} // namespace google::protobuf

namespace troupe::gateway {

/// `body`, already JSON, as an application/json response with `status`.
http_response json_response(std::string body, unsigned status = 200);

/// `resource` by protobuf's JSON mapping with every field shown (so a zero
/// counter prints as 0 rather than vanishing): the admin API's resources.
/// A 500 problem in the unlikely case that it cannot be printed.
http_response json_response(const google::protobuf::Message& resource);

} // namespace troupe::gateway
