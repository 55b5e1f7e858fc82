#include "json_response.hpp"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "problem.hpp"

namespace troupe::gateway {

namespace http = boost::beast::http;

http_response json_response(std::string body, unsigned status) {
  http_response res{http::int_to_status(status), 11};
  res.set(http::field::content_type, json_content_type);
  res.body() = std::move(body);
  return res;
}

http_response json_response(const google::protobuf::Message& resource) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string body;
  if (!google::protobuf::util::MessageToJsonString(resource, &body, options).ok())
    return problem_response(500, "the resource could not be printed", {});
  return json_response(std::move(body));
}

} // namespace troupe::gateway
