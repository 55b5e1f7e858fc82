#include "admin_api.hpp"

#include <google/protobuf/util/json_util.h>

#include "json_text.hpp"
#include "url.hpp"

namespace troupe::shell {

namespace {

namespace pb = google::protobuf;

constexpr std::string_view prefix = "/admin/v1";

// Newer nodes may add fields: take what this shell knows, skip the rest.
template <class Message>
bool parse_json(std::string_view text, Message& message) {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return pb::util::JsonStringToMessage(pb::StringPiece(text.data(), text.size()), &message, options)
      .ok();
}

bool is_success(unsigned status) {
  return status >= 200 && status < 300;
}

std::string reason_phrase(unsigned status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return {};
  }
}

std::string service_target(std::string_view name) {
  return std::string(prefix) + "/services/" + percent_encode(name);
}

std::string state_target(std::string_view service, std::string_view key) {
  return service_target(service) + "/state/" + percent_encode(key);
}

} // namespace

std::string failure_message(const http_response& answer) {
  admin::v1::Problem problem;
  if (!answer.body.empty() && parse_json(answer.body, problem)) {
    if (!problem.detail().empty())
      return problem.detail();
    if (!problem.title().empty())
      return problem.title();
  }
  std::string message = "the node answered HTTP " + std::to_string(answer.status);
  if (const auto reason = reason_phrase(answer.status); !reason.empty())
    message += " " + reason;
  return message;
}

void admin_api::expect_success(const http_response& answer) const {
  if (!is_success(answer.status))
    throw command_failed(failure_message(answer));
}

template <class Resource>
Resource admin_api::parse_answer(std::string_view method, const std::string& target,
                                 const http_response& answer) const {
  Resource resource;
  if (!parse_json(answer.body, resource))
    throw command_failed("unexpected answer from " + url().to_string() + " to "
                         + std::string(method) + " " + target + ": not a "
                         + Resource::descriptor()->name());
  return resource;
}

template <class Resource>
Resource admin_api::get(const std::string& target) {
  const auto answer = client_.get(target);
  expect_success(answer);
  return parse_answer<Resource>("GET", target, answer);
}

admin::v1::NodeInfo admin_api::node() {
  return get<admin::v1::NodeInfo>(std::string(prefix) + "/node");
}

admin::v1::NodeList admin_api::nodes() {
  return get<admin::v1::NodeList>(std::string(prefix) + "/nodes");
}

admin::v1::ModuleList admin_api::modules() {
  return get<admin::v1::ModuleList>(std::string(prefix) + "/modules");
}

admin::v1::ServiceList admin_api::services() {
  return get<admin::v1::ServiceList>(std::string(prefix) + "/services");
}

admin::v1::ServiceInfo admin_api::service(std::string_view name) {
  return get<admin::v1::ServiceInfo>(service_target(name));
}

admin::v1::ServiceInfo admin_api::reset(std::string_view name) {
  const auto target = service_target(name) + ":reset";
  const auto answer = client_.post(target, "{}");
  expect_success(answer);
  if (answer.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return {};
  return parse_answer<admin::v1::ServiceInfo>("POST", target, answer);
}

admin::v1::KeyLocation admin_api::where(std::string_view service, std::string_view key) {
  return get<admin::v1::KeyLocation>(service_target(service) + ":where?key=" + percent_encode(key));
}

template <class Answer>
Answer admin_api::change_node(std::string_view node, std::string_view change) {
  const auto target =
    std::string(prefix) + "/nodes/" + percent_encode(node) + ":" + std::string(change);
  const auto answer = client_.post(target, "{}");
  expect_success(answer);
  return parse_answer<Answer>("POST", target, answer);
}

admin::v1::DrainAccepted admin_api::drain(std::string_view node) {
  return change_node<admin::v1::DrainAccepted>(node, "drain");
}

admin::v1::NodeRemoved admin_api::remove(std::string_view node) {
  return change_node<admin::v1::NodeRemoved>(node, "remove");
}

std::string admin_api::call(std::string_view service, std::string_view method,
                            const std::optional<std::string>& key, std::string_view json,
                            std::chrono::milliseconds deadline) {
  auto target = service_target(service) + "/methods/" + percent_encode(method) + ":call";
  if (key)
    target += "?key=" + percent_encode(*key);
  auto answer = client_.post_call(target, std::string(json), deadline);
  expect_success(answer);
  return std::move(answer.body);
}

stored_state admin_api::parse_stored_state(std::string_view method, const std::string& target,
                                           const http_response& answer) const {
  stored_state result;
  result.head = parse_answer<admin::v1::StoredState>(method, target, answer);
  auto state = json_member(answer.body, "state");
  if (!state)
    throw command_failed("unexpected answer from " + url().to_string() + " to "
                         + std::string(method) + " " + target + ": no \"state\"");
  result.state_json = std::move(*state);
  return result;
}

stored_state admin_api::state(std::string_view service, std::string_view key) {
  const auto target = state_target(service, key);
  const auto answer = client_.get(target);
  expect_success(answer);
  return parse_stored_state("GET", target, answer);
}

stored_state admin_api::delete_state(std::string_view service, std::string_view key) {
  const auto target = state_target(service, key);
  const auto answer = client_.remove(target);
  expect_success(answer);
  return parse_stored_state("DELETE", target, answer);
}

admin::v1::Backup admin_api::backup(std::string_view dir, std::chrono::milliseconds deadline) {
  const auto target = std::string(prefix) + "/state:backup";
  admin::v1::BackupRequest request;
  request.set_dir(std::string(dir));
  std::string body;
  if (!pb::util::MessageToJsonString(request, &body).ok())
    throw command_failed("DIR cannot be sent: it is not valid UTF-8");
  const auto answer = client_.post_call(target, std::move(body), deadline);
  expect_success(answer);
  return parse_answer<admin::v1::Backup>("POST", target, answer);
}

} // namespace troupe::shell
