// The node's log: one ECS line per HTTP request at debug (5xx at info), and a
// log output that takes nothing (a stderr pipe never read) holds up no call.
#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

/// The node's log lines whose text holds `part`.
std::vector<std::string> log_lines_with(const node_process& node, const std::string& part) {
  std::vector<std::string> found;
  for (auto& line : lines_of(node.stderr_text()))
    if (contains(line, part))
      found.push_back(line);
  return found;
}

/// Waits (bounded) until a log line holding `part` has been written; returns
/// the first such line, or "" when none came.
std::string wait_for_log_line(const node_process& node, const std::string& part) {
  std::string line;
  eventually(
    [&] {
      auto lines = log_lines_with(node, part);
      if (lines.empty())
        return false;
      line = lines.front();
      return true;
    },
    200, 50ms);
  return line;
}

/// A number field of a log line.
std::int64_t number_field(const std::string& line, const std::string& name) {
  auto doc = parse_json(line);
  auto* value = find_field(doc, name);
  INFO("log line: " << line << "; field: " << name);
  REQUIRE(value != nullptr);
  REQUIRE(value->kind_case() == google::protobuf::Value::kNumberValue);
  return static_cast<std::int64_t>(value->number_value());
}

bool has_field(const std::string& line, const std::string& name) {
  return find_field(parse_json(line), name) != nullptr;
}

constexpr const char* trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

} // namespace

TEST_CASE("request log: at debug every request has its line, naming the route template",
          "[logging]") {
  node_process node{{"--module", counter_module(), "--log-level", "debug"}};
  raw_connection conn{node.port()};
  auto added = round_trip(
    conn, make_request("POST", "/v1/counters/alice:add", R"({"delta": 3})",
                       {"traceparent: 00-" + std::string{trace_id} + "-00f067aa0ba902b7-01"}));
  REQUIRE(counter_value(added) == 3);

  auto line = wait_for_log_line(node, R"("url.path":"/v1/counters/{key}:add")");
  INFO("stderr: " << node.stderr_text());
  REQUIRE_FALSE(line.empty());
  CHECK(string_field(line, "message") == "http request");
  CHECK(string_field(line, "log.level") == "debug");
  CHECK(string_field(line, "http.request.method") == "POST");
  CHECK(number_field(line, "http.response.status_code") == 200);
  CHECK(number_field(line, "http.response.body.bytes")
        == static_cast<std::int64_t>(added.body.size()));
  CHECK(number_field(line, "event.duration") > 0);
  CHECK(string_field(line, "trace.id") == trace_id);

  SECTION("the template, not the key; no trace id without traceparent") {
    REQUIRE(counter_value(round_trip(conn, get_request("alice"))) == 3);
    auto get_line = wait_for_log_line(node, R"("url.path":"/v1/counters/{key}")");
    REQUIRE_FALSE(get_line.empty());
    CHECK(string_field(get_line, "http.request.method") == "GET");
    CHECK_FALSE(has_field(get_line, "trace.id"));
    CHECK(log_lines_with(node, R"("url.path":"/v1/counters/alice)").empty());
  }
  SECTION("a 4xx, with the path where no route matched") {
    auto missing = round_trip(conn, make_request("GET", "/v1/nowhere"));
    require_problem(missing, 404);
    auto missing_line = wait_for_log_line(node, R"("url.path":"/v1/nowhere")");
    REQUIRE_FALSE(missing_line.empty());
    CHECK(string_field(missing_line, "log.level") == "debug");
    CHECK(number_field(missing_line, "http.response.status_code") == 404);
    CHECK(number_field(missing_line, "http.response.body.bytes")
          == static_cast<std::int64_t>(missing.body.size()));
  }
}

TEST_CASE("request log: at info a 5xx has its line and a 200 or a 404 none", "[logging]") {
  // One I/O thread: the requests' lines are logged in the order they were
  // answered, so once the 500's line is out, the others' would be too.
  node_process node{{"--module", test_module("faulty"), "--http-threads", "1"}};
  raw_connection conn{node.port()};
  require_json_ok(round_trip(conn, make_request("GET", "/v1/faulty/ok")));
  require_problem(round_trip(conn, make_request("GET", "/v1/nowhere")), 404);
  require_problem(round_trip(conn, make_request("POST", "/v1/faulty/fail", "{}")), 500);

  auto line = wait_for_log_line(node, R"("http.response.status_code":500)");
  INFO("stderr: " << node.stderr_text());
  REQUIRE_FALSE(line.empty());
  CHECK(string_field(line, "message") == "http request failed");
  CHECK(string_field(line, "log.level") == "info");
  CHECK(string_field(line, "url.path") == "/v1/faulty/fail");
  CHECK(string_field(line, "http.request.method") == "POST");
  CHECK(log_lines_with(node, R"("http.response.status_code")").size() == 1);
  CHECK(log_lines_with(node, "/v1/faulty/ok").empty());
  CHECK(log_lines_with(node, "/v1/nowhere").empty());
}

TEST_CASE("logging: a node whose stderr is never read keeps answering", "[logging]") {
  // At debug every request writes a line: far more than a pipe holds. One
  // I/O thread: a log write that blocked it would stop every connection.
  node_process node{{"--module", counter_module(), "--log-level", "debug", "--http-threads", "1"},
                    {.read_stderr = false, .data_dir = {}}};
  raw_connection counter{node.port()};
  std::int64_t total = 0;
  auto node_answers = [&] {
    raw_connection health{node.port()};
    health.send(make_request("GET", "/healthz"));
    auto r = health.read_response(10s);
    REQUIRE(r.has_value());
    REQUIRE(r->status == 200);
    counter.send(add_request("stuck-log", 1));
    auto added = counter.read_response(10s);
    REQUIRE(added.has_value());
    REQUIRE(counter_value(*added) == ++total);
  };

  for (int i = 0; i < 2000; ++i) {
    raw_connection bad{node.port()};
    bad.send("GET /v1/counters/x HTXP/1.1\r\nHost: x\r\n\r\n");
    auto r = bad.read_response(10s);
    REQUIRE(r.has_value());
    REQUIRE(r->status == 400);
    if (i % 100 == 0)
      node_answers();
  }
  // Lines of 8 KB each, more than the log's queue holds: some are dropped.
  const std::string long_path = "/" + std::string(8000, 'p');
  for (int i = 0; i < 300; ++i) {
    counter.send(make_request("GET", long_path));
    auto r = counter.read_response(10s);
    REQUIRE(r.has_value());
    REQUIRE(r->status == 404);
    if (i % 100 == 0)
      node_answers();
  }
  node_answers();
  auto info = admin_get<troupe::admin::v1::NodeInfo>(node.port(), "/admin/v1/node");
  CHECK(info.log_lines_dropped() > 0);

  // Once read, the log says how many lines it dropped, and the flood of
  // refusals came out as a few lines and their repeat counts.
  node.start_reading_stderr();
  INFO("stderr (tail): " << node.stderr_text().substr(
         node.stderr_text().size() - std::min<std::size_t>(node.stderr_text().size(), 4000)));
  CHECK_FALSE(wait_for_log_line(node, "log lines dropped\"").empty());
  CHECK_FALSE(wait_for_log_line(node, "times: http request refused\"").empty());
  CHECK(log_lines_with(node, R"("message":"http request refused")").size() < 100);
  CHECK(node.terminate() == 0);
}
