// Every error status the gateway answers, as RFC 9457 problem documents
// (application/problem+json with type, title, status and detail), from a real
// `troupe node` over real sockets.
#include <sstream>
#include <thread>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

std::vector<std::string> all_modules(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--module", counter_module(), "--module", greeter_module(),
                                "--module", test_module("faulty")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

} // namespace

// -- 400 ------------------------------------------------------------------------

TEST_CASE("errors: malformed JSON answers 400", "[errors][400]") {
  node_process node{all_modules()};
  SECTION("a truncated object") {
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", R"({"delta": )");
    require_problem(r, 400);
  }
  SECTION("not JSON at all") {
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", "delta=1");
    require_problem(r, 400);
  }
  SECTION("a JSON array where an object belongs") {
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", "[1, 2]");
    require_problem(r, 400);
  }
  // Nothing was added by any of them.
  REQUIRE(counter_get(node.port(), "k") == 0);
}

TEST_CASE("errors: a field of the wrong type answers 400 naming the field",
          "[errors][400]") {
  node_process node{all_modules()};
  SECTION("a string for an int32") {
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", R"({"delta": "lots"})");
    auto p = require_problem(r, 400);
    INFO("detail: " << p.detail);
    REQUIRE(contains(p.detail, "delta"));
  }
  SECTION("a fraction for an int32") {
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", R"({"delta": 1.5})");
    auto p = require_problem(r, 400);
    INFO("detail: " << p.detail);
    REQUIRE(contains(p.detail, "delta"));
  }
  SECTION("an object for an int32") {
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", R"({"delta": {"n": 1}})");
    auto p = require_problem(r, 400);
    INFO("detail: " << p.detail);
    REQUIRE(contains(p.detail, "delta"));
  }
  REQUIRE(counter_get(node.port(), "k") == 0);
}

TEST_CASE("errors: an unknown field answers 400 naming the field", "[errors][400]") {
  node_process node{all_modules()};
  auto r = http_call(node.port(), "POST", "/v1/counters/k:add",
                     R"({"delta": 1, "bogus": 2})");
  auto p = require_problem(r, 400);
  INFO("detail: " << p.detail);
  REQUIRE(contains(p.detail, "bogus"));
  REQUIRE(counter_get(node.port(), "k") == 0);
}

TEST_CASE("errors: an unknown query parameter answers 400 naming it", "[errors][400]") {
  node_process node{all_modules()};
  SECTION("on a route without a body") {
    auto p = require_problem(http_call(node.port(), "GET", "/v1/counters/k?bogus=1"), 400);
    INFO("detail: " << p.detail);
    REQUIRE(contains(p.detail, "bogus"));
  }
  SECTION("on a route whose body is the whole request") {
    auto p = require_problem(
      http_call(node.port(), "POST", "/v1/counters/k:add?delta=4", "{}"), 400);
    INFO("detail: " << p.detail);
    REQUIRE(contains(p.detail, "delta"));
    REQUIRE(counter_get(node.port(), "k") == 0);
  }
}

TEST_CASE("errors: a malformed percent-encoding in the path answers 400",
          "[errors][400]") {
  node_process node{all_modules()};
  require_problem(http_call(node.port(), "GET", "/v1/counters/bad%zzkey"), 400);
}

TEST_CASE("errors: a bad X-Troupe-Timeout-Ms value answers 400", "[errors][400]") {
  node_process node{all_modules()};
  std::string value;
  SECTION("not a number") {
    value = "soon";
  }
  SECTION("negative") {
    value = "-5";
  }
  SECTION("with a unit") {
    value = "200ms";
  }
  auto r = http_call(node.port(), "GET", "/v1/counters/k", "",
                     {"X-Troupe-Timeout-Ms: " + value});
  INFO("X-Troupe-Timeout-Ms: '" << value << "'");
  require_problem(r, 400);
}

// -- 404, 405 -------------------------------------------------------------------

TEST_CASE("errors: a path without a route answers 404", "[errors][404]") {
  node_process node{all_modules()};
  SECTION("an unknown path") {
    auto p = require_problem(http_call(node.port(), "GET", "/v1/nope"), 404);
    REQUIRE(p.title == "Not Found");
  }
  SECTION("a known prefix with extra segments") {
    require_problem(http_call(node.port(), "GET", "/v1/counters/k/extra"), 404);
  }
  SECTION("the root") {
    require_problem(http_call(node.port(), "GET", "/"), 404);
  }
}

TEST_CASE("errors: a wrong method answers 405 with an Allow header", "[errors][405]") {
  node_process node{all_modules()};
  SECTION("DELETE on the counter's GET route") {
    auto r = http_call(node.port(), "DELETE", "/v1/counters/k");
    require_problem(r, 405);
    INFO("Allow: " << r.header("allow"));
    REQUIRE(contains(r.header("allow"), "GET"));
    REQUIRE_FALSE(contains(r.header("allow"), "DELETE"));
  }
  SECTION("GET on a POST-only route") {
    auto r = http_call(node.port(), "GET", "/v1/faulty/fail");
    require_problem(r, 405);
    INFO("Allow: " << r.header("allow"));
    REQUIRE(contains(r.header("allow"), "POST"));
  }
  SECTION("PUT on the greeter's route") {
    auto r = http_call(node.port(), "PUT", "/v1/greetings/Ann", "{}");
    require_problem(r, 405);
    INFO("Allow: " << r.header("allow"));
    REQUIRE(contains(r.header("allow"), "GET"));
  }
}

// -- 413, 415, 431 --------------------------------------------------------------

TEST_CASE("errors: a body over the 1 MiB default answers 413", "[errors][413]") {
  node_process node{all_modules()};
  constexpr std::size_t limit = 1 << 20;
  SECTION("announced by Content-Length") {
    raw_connection conn{node.port()};
    // The headers alone say it is too large; the body is never sent.
    conn.send("POST /v1/counters/k:add HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Content-Type: application/json\r\nContent-Length: "
              + std::to_string(limit + 1) + "\r\n\r\n");
    auto r = conn.read_response();
    REQUIRE(r.has_value());
    require_problem(*r, 413);
  }
  SECTION("a body of exactly 1 MiB is accepted") {
    // Valid JSON padded with whitespace to the limit.
    std::string body = R"({"delta": 1)";
    body += std::string(limit - body.size() - 1, ' ');
    body += "}";
    REQUIRE(body.size() == limit);
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", body);
    REQUIRE(counter_value(r) == 1);
  }
  REQUIRE(http_call(node.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("errors: --max-body-bytes changes the body limit", "[errors][413]") {
  node_process node{all_modules({"--max-body-bytes", "100"})};
  SECTION("a body over it answers 413") {
    std::string body = R"({"delta": 1)" + std::string(150, ' ') + "}";
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", body);
    require_problem(r, 413);
    REQUIRE(counter_get(node.port(), "k") == 0);
  }
  SECTION("a body under it is accepted") {
    std::string body = R"({"delta": 1)" + std::string(50, ' ') + "}";
    auto r = http_call(node.port(), "POST", "/v1/counters/k:add", body);
    REQUIRE(counter_value(r) == 1);
  }
}

TEST_CASE("errors: the body limit holds for chunked bodies too", "[errors][413]") {
  node_process node{all_modules({"--max-body-bytes", "100"})};
  auto chunked = [](const std::string& body) {
    std::ostringstream hex;
    hex << std::hex << body.size();
    return "POST /v1/counters/k:add HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           + hex.str() + "\r\n" + body + "\r\n0\r\n\r\n";
  };
  raw_connection conn{node.port()};
  SECTION("a chunked body over the limit answers 413") {
    std::string body = R"({"delta": 1)" + std::string(150, ' ') + "}";
    require_problem(round_trip(conn, chunked(body)), 413);
    REQUIRE(counter_get(node.port(), "k") == 0);
  }
  SECTION("a chunked body under the limit is accepted") {
    REQUIRE(counter_value(round_trip(conn, chunked(R"({"delta": 3})"))) == 3);
  }
}

TEST_CASE("errors: a body with a non-JSON content type answers 415", "[errors][415]") {
  node_process node{all_modules()};
  std::string content_type;
  SECTION("text/plain") {
    content_type = "text/plain";
  }
  SECTION("application/x-www-form-urlencoded") {
    content_type = "application/x-www-form-urlencoded";
  }
  raw_connection conn{node.port()};
  auto r = round_trip(conn, make_request("POST", "/v1/counters/k:add", R"({"delta": 1})",
                                         {}, content_type));
  INFO("Content-Type: " << content_type);
  require_problem(r, 415);
  REQUIRE(counter_get(node.port(), "k") == 0);
}

TEST_CASE("errors: JSON with a charset parameter is accepted", "[errors][415]") {
  node_process node{all_modules()};
  raw_connection conn{node.port()};
  auto r = round_trip(conn, make_request("POST", "/v1/counters/k:add", R"({"delta": 2})", {},
                                         "application/json; charset=utf-8"));
  REQUIRE(counter_value(r) == 2);
}

TEST_CASE("errors: a header block over the limit answers 431", "[errors][431]") {
  node_process node{all_modules()};
  raw_connection conn{node.port()};
  conn.send(make_request("GET", "/v1/counters/k", "",
                         {"X-Padding: " + std::string(20 * 1024, 'a')}));
  auto r = conn.read_response();
  REQUIRE(r.has_value());
  require_problem(*r, 431);
  REQUIRE(http_call(node.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("errors: many headers adding up over the limit answer 431", "[errors][431]") {
  node_process node{all_modules()};
  std::vector<std::string> headers;
  for (int i = 0; i < 400; ++i)
    headers.push_back("X-Many-" + std::to_string(i) + ": " + std::string(50, 'b'));
  raw_connection conn{node.port()};
  conn.send(make_request("GET", "/v1/counters/k", "", headers));
  auto r = conn.read_response();
  REQUIRE(r.has_value());
  require_problem(*r, 431);
}

// -- 500, 503, 504 --------------------------------------------------------------

TEST_CASE("errors: a handler that throws answers 500 without its internals",
          "[errors][500]") {
  node_process node{all_modules()};
  auto r = http_call(node.port(), "POST", "/v1/faulty/fail");
  auto p = require_problem(r, 500);
  INFO("body: " << r.body);
  REQUIRE_FALSE(contains(r.body, "secret internals"));
  REQUIRE_FALSE(contains(r.body, "0xdeadbeef"));
  REQUIRE_FALSE(contains(r.body, "/srv/faulty"));
  REQUIRE_FALSE(contains(p.detail, "runtime_error"));
}

TEST_CASE("errors: a call to a service that is not there answers 503", "[errors][503]") {
  // The greeter's counted greeting calls the counter, which is not loaded.
  node_process node{{"--module", greeter_module()}};
  require_problem(http_call(node.port(), "POST", "/v1/greetings/Ann:counted"), 503);
}

TEST_CASE("errors: a call past its deadline answers 504", "[errors][504]") {
  SECTION("deadline shortened by X-Troupe-Timeout-Ms") {
    node_process node{all_modules()};
    auto r = http_call(node.port(), "POST", "/v1/faulty/slow", R"({"millis": 2000})",
                       {"X-Troupe-Timeout-Ms: 200"});
    require_problem(r, 504);
    REQUIRE(http_call(node.port(), "GET", "/healthz").status == 200);
  }
  SECTION("deadline from --request-timeout") {
    node_process node{all_modules({"--request-timeout", "300ms"})};
    auto r = http_call(node.port(), "POST", "/v1/faulty/slow", R"({"millis": 2000})");
    require_problem(r, 504);
    // Calls within the deadline still succeed.
    REQUIRE(counter_add(node.port(), "quick", 1) == 1);
  }
  SECTION("the header cannot lengthen the node's deadline") {
    node_process node{all_modules({"--request-timeout", "300ms"})};
    auto r = http_call(node.port(), "POST", "/v1/faulty/slow", R"({"millis": 2000})",
                       {"X-Troupe-Timeout-Ms: 60000"});
    require_problem(r, 504);
  }
}

TEST_CASE("errors: each request on a keep-alive connection keeps its own deadline",
          "[errors][504][keepalive]") {
  // The connection's deadline timer stays armed for an earlier request's
  // deadline; a later request must neither inherit it nor miss its own.
  SECTION("a shorter deadline than the one armed still answers 504") {
    node_process node{all_modules()};
    raw_connection conn{node.port()};
    REQUIRE(counter_value(round_trip(conn, add_request("k", 1))) == 1);  // 15 s deadline
    auto r = round_trip(conn, make_request("POST", "/v1/faulty/slow", R"({"millis": 2000})",
                                           {"X-Troupe-Timeout-Ms: 200"}));
    require_problem(r, 504);
  }
  SECTION("the earlier request's deadline passing does not end a later call") {
    node_process node{all_modules({"--request-timeout", "1500ms"})};
    raw_connection conn{node.port()};
    REQUIRE(counter_value(round_trip(conn, add_request("k", 1))) == 1);
    // The timer armed for the first request fires 500 ms into this call,
    // 1 s before its own deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds{1000});
    auto r = round_trip(conn, make_request("POST", "/v1/faulty/slow", R"({"millis": 800})"));
    require_json_ok(r);
    // And the later request's own deadline still holds.
    r = round_trip(conn, make_request("POST", "/v1/faulty/slow", R"({"millis": 3000})"));
    require_problem(r, 504);
  }
}

// -- the error path leaves the connection usable --------------------------------

TEST_CASE("errors: a client error leaves the keep-alive connection serving",
          "[errors][keepalive]") {
  node_process node{all_modules()};
  raw_connection conn{node.port()};
  require_problem(round_trip(conn, make_request("POST", "/v1/counters/k:add", "{oops")), 400);
  require_problem(round_trip(conn, make_request("GET", "/v1/nope")), 404);
  require_problem(round_trip(conn, make_request("DELETE", "/v1/counters/k")), 405);
  require_problem(round_trip(conn, make_request("POST", "/v1/faulty/fail")), 500);
  REQUIRE(counter_value(round_trip(conn, add_request("k", 3))) == 3);
}
