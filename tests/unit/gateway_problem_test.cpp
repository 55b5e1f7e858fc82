// Problem documents (RFC 9457) and the mapping of call status codes to HTTP.
#include <catch2/catch.hpp>

#include <google/protobuf/util/json_util.h>

#include "troupe/admin.pb.h"
#include "gateway/src/problem.hpp"
#include "gateway/src/status_mapping.hpp"
#include "gateway/src/utf8.hpp"

using namespace troupe::gateway;
using troupe::status_code;

namespace {

troupe::admin::v1::Problem parse_problem(const std::string& json) {
  troupe::admin::v1::Problem problem;
  INFO("json: " << json);
  REQUIRE(google::protobuf::util::JsonStringToMessage(json, &problem).ok());
  return problem;
}

} // namespace

TEST_CASE("gateway problem: the document has type, title, status, detail and instance",
          "[gateway][problem]") {
  auto res = problem_response(404, "no route matches this path", "/v1/nope");
  CHECK(res.result_int() == 404);
  CHECK(res[boost::beast::http::field::content_type] == "application/problem+json");
  CHECK(res[boost::beast::http::field::content_length] == std::to_string(res.body().size()));
  auto problem = parse_problem(res.body());
  CHECK(problem.type() == "about:blank");
  CHECK(problem.title() == "Not Found");
  CHECK(problem.status() == 404);
  CHECK(problem.detail() == "no route matches this path");
  CHECK(problem.instance() == "/v1/nope");
}

TEST_CASE("gateway problem: titles are the reason phrases", "[gateway][problem]") {
  struct expectation {
    unsigned status;
    const char* title;
  };
  auto e = GENERATE(values<expectation>({
    {400, "Bad Request"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {431, "Request Header Fields Too Large"},
    {499, "Client Closed Request"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
  }));
  INFO("status " << e.status);
  auto res = problem_response(e.status, "x", "/p");
  CHECK(res.result_int() == e.status);
  CHECK(std::string{res.reason()} == e.title);
  CHECK(parse_problem(res.body()).title() == e.title);
}

TEST_CASE("gateway problem: empty detail and instance are left out", "[gateway][problem]") {
  auto json = problem_json(400, "", "");
  CHECK(json.find("detail") == std::string::npos);
  CHECK(json.find("instance") == std::string::npos);
  CHECK(parse_problem(json).status() == 400);
}

TEST_CASE("gateway problem: echoed text is made safe JSON", "[gateway][problem]") {
  std::string nasty = "a\"b\\c\n\x01\xff<script>";
  auto json = problem_json(400, nasty, "/v1/\xc3\x28");
  auto problem = parse_problem(json);
  CHECK(problem.detail() == "a\"b\\c??\?<script>");
  CHECK(problem.instance() == "/v1/?(");
  // Very long input is cut.
  auto long_detail = parse_problem(problem_json(400, std::string(5000, 'x'), "")).detail();
  CHECK(long_detail.size() < 1100);
}

TEST_CASE("gateway status mapping follows Google's HTTP mapping", "[gateway][status]") {
  CHECK(http_status_for(status_code::ok) == 200);
  CHECK(http_status_for(status_code::invalid_argument) == 400);
  CHECK(http_status_for(status_code::out_of_range) == 400);
  CHECK(http_status_for(status_code::failed_precondition) == 400);
  CHECK(http_status_for(status_code::unauthenticated) == 401);
  CHECK(http_status_for(status_code::permission_denied) == 403);
  CHECK(http_status_for(status_code::not_found) == 404);
  CHECK(http_status_for(status_code::already_exists) == 409);
  CHECK(http_status_for(status_code::aborted) == 409);
  CHECK(http_status_for(status_code::resource_exhausted) == 429);
  CHECK(http_status_for(status_code::cancelled) == 499);
  CHECK(http_status_for(status_code::unknown) == 500);
  CHECK(http_status_for(status_code::internal) == 500);
  CHECK(http_status_for(status_code::data_loss) == 500);
  CHECK(http_status_for(status_code::unimplemented) == 501);
  CHECK(http_status_for(status_code::unavailable) == 503);
  CHECK(http_status_for(status_code::deadline_exceeded) == 504);
  CHECK(http_status_for(static_cast<status_code>(99)) == 500);
}

TEST_CASE("gateway status mapping: a retry hint is Retry-After in whole seconds, "
          "rounded up", "[gateway][status]") {
  CHECK(retry_after_seconds(1) == "1");
  CHECK(retry_after_seconds(999) == "1");
  CHECK(retry_after_seconds(1000) == "1");
  CHECK(retry_after_seconds(1001) == "2");
  CHECK(retry_after_seconds(300'000) == "300");
  CHECK(retry_after_seconds(4'294'967'295u) == "4294968");
}

TEST_CASE("gateway utf8: validation", "[gateway][utf8]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}
