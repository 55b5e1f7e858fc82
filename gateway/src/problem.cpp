#include "problem.hpp"

#include <google/protobuf/util/json_util.h>

#include <boost/beast/http/status.hpp>

#include "troupe/admin.pb.h"
#include "utf8.hpp"

namespace troupe::gateway {

namespace http = boost::beast::http;

std::string_view reason_phrase(unsigned status) noexcept {
  if (status == 499)
    return "Client Closed Request";
  auto reason = http::obsolete_reason(http::int_to_status(status));
  return {reason.data(), reason.size()};
}

std::string problem_json(unsigned status, std::string_view detail,
                         std::string_view instance, std::span<const std::string> reasons) {
  troupe::admin::v1::Problem problem;
  problem.set_type("about:blank");
  problem.set_title(std::string{reason_phrase(status)});
  problem.set_status(static_cast<std::int32_t>(status));
  problem.set_detail(printable_utf8(detail, 1000));
  problem.set_instance(printable_utf8(instance, 1000));
  for (const auto& reason : reasons)
    problem.add_reasons(printable_utf8(reason, 1000));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(problem, &json, options).ok()) {
    // Cannot happen with valid UTF-8 input; keep the response well-formed.
    json = R"({"type":"about:blank","status":)" + std::to_string(status) + "}";
  }
  return json;
}

http_response problem_response(unsigned status, std::string_view detail,
                               std::string_view instance, unsigned http_version,
                               std::span<const std::string> reasons) {
  http_response res{http::int_to_status(status), http_version};
  res.result(status);
  if (status == 499) {
    auto reason = reason_phrase(status);
    res.reason({reason.data(), reason.size()});
  }
  res.set(http::field::content_type, problem_content_type);
  res.body() = problem_json(status, detail, instance, reasons);
  res.prepare_payload();
  return res;
}

} // namespace troupe::gateway
