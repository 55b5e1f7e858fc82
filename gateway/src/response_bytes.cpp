#include "response_bytes.hpp"

#include <charconv>

namespace troupe::gateway::detail {

void append_response_bytes(const http_response& response, bool with_body, std::string& out) {
  out.append(response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char status[4];
  auto [end, ec] = std::to_chars(status, status + sizeof status, response.result_int());
  out.append(status, end);
  out.push_back(' ');
  auto reason = response.reason();
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  for (const auto& field : response) {
    auto name = field.name_string();
    auto value = field.value();
    out.append(name.data(), name.size());
    out.append(": ");
    out.append(value.data(), value.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  if (with_body)
    out.append(response.body());
}

} // namespace troupe::gateway::detail
