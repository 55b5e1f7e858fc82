#include "readiness.hpp"

#include <boost/beast/http/field.hpp>

#include "json_response.hpp"
#include "problem.hpp"

namespace troupe::gateway {

namespace http = boost::beast::http;

void readiness::add(readiness_check check) {
  sources_.push_back([check = std::move(check)](std::vector<std::string>& reasons) {
    if (auto reason = check(); !reason.empty())
      reasons.push_back(std::move(reason));
  });
}

void readiness::add_source(std::function<void(std::vector<std::string>&)> source) {
  sources_.push_back(std::move(source));
}

std::vector<std::string> readiness::reasons() const {
  std::vector<std::string> result;
  for (const auto& source : sources_)
    source(result);
  return result;
}

http_response readiness::response(bool draining, std::string_view path) const {
  auto why = reasons();
  if (draining)
    why.insert(why.begin(), "the node is draining");
  if (why.empty())
    return json_response(R"({"status":"ready"})");
  return unready_response(why, path);
}

http_response unready_response(std::span<const std::string> reasons, std::string_view path) {
  std::string detail;
  for (const auto& reason : reasons) {
    if (!detail.empty())
      detail += "; ";
    detail += reason;
  }
  auto res = problem_response(503, detail, path, 11, reasons);
  res.set(http::field::retry_after, "1");
  return res;
}

} // namespace troupe::gateway
