// The node URL the shell is given, and what it puts into request targets.
#include <catch2/catch.hpp>

#include "shell/src/errors.hpp"
#include "shell/src/service_names.hpp"
#include "shell/src/url.hpp"

using namespace troupe::shell;

namespace {

std::string url_error(std::string_view text) {
  try {
    parse_base_url(text);
  } catch (const usage_error& e) {
    return e.what();
  }
  FAIL("accepted: " << text);
  return {};
}

} // namespace

TEST_CASE("base URLs that are accepted", "[shell][url]") {
  CHECK(parse_base_url("http://127.0.0.1:8080") == base_url{"127.0.0.1", 8080});
  CHECK(parse_base_url("http://127.0.0.1:8080/") == base_url{"127.0.0.1", 8080});
  CHECK(parse_base_url("HTTP://node-1.troupe.svc:9000") == base_url{"node-1.troupe.svc", 9000});
  CHECK(parse_base_url("http://localhost") == base_url{"localhost", 80});
  CHECK(parse_base_url("http://[::1]:8080") == base_url{"::1", 8080});
  CHECK(parse_base_url("http://[::1]:8080").to_string() == "http://[::1]:8080");
  CHECK(parse_base_url("http://127.0.0.1:8080/").to_string() == "http://127.0.0.1:8080");
  CHECK(parse_base_url("http://h:1").authority() == "h:1");
}

TEST_CASE("base URLs that are refused, with the fault named", "[shell][url]") {
  CHECK(url_error("127.0.0.1:8080") == "bad URL '127.0.0.1:8080': expected http://HOST:PORT");
  CHECK(url_error("https://127.0.0.1:8443")
        == "bad URL 'https://127.0.0.1:8443': https is not supported yet; use http://HOST:PORT");
  CHECK(url_error("ftp://h:21") == "bad URL 'ftp://h:21': expected http://HOST:PORT");
  CHECK_THAT(url_error("http://:8080"), Catch::EndsWith("no host"));
  CHECK_THAT(url_error("http://h:"), Catch::EndsWith("empty port"));
  CHECK_THAT(url_error("http://[::1]:"), Catch::EndsWith("empty port"));
  CHECK_THAT(url_error("http://[::1]8080"), Catch::EndsWith("expected http://HOST:PORT"));
  CHECK_THAT(url_error("http://"), Catch::EndsWith("no host"));
  CHECK_THAT(url_error("http://h:0"), Catch::EndsWith("port must be a number from 1 to 65535"));
  CHECK_THAT(url_error("http://h:65536"), Catch::EndsWith("port must be a number from 1 to 65535"));
  CHECK_THAT(url_error("http://h:80x"), Catch::EndsWith("port must be a number from 1 to 65535"));
  CHECK_THAT(url_error("http://h:8080/admin"), Catch::EndsWith("a base URL has no path, query or fragment"));
  CHECK_THAT(url_error("http://h:8080?x=1"), Catch::EndsWith("a base URL has no path, query or fragment"));
  CHECK_THAT(url_error("http://user@h:8080"), Catch::EndsWith("user information is not supported"));
  CHECK_THAT(url_error("http://h h:8080"), Catch::EndsWith("bad host name"));
  CHECK_THAT(url_error("http://[::1:8080"), Catch::EndsWith("unterminated IPv6 address"));
  CHECK_THAT(url_error("http://[zz]:8080"), Catch::EndsWith("bad IPv6 address"));
}

TEST_CASE("percent-encoding keeps only unreserved characters", "[shell][url]") {
  CHECK(percent_encode("demo.counter.v1.Counter") == "demo.counter.v1.Counter");
  CHECK(percent_encode("a-b_c~d") == "a-b_c~d");
  CHECK(percent_encode("a b/c?d&e=f#g%h") == "a%20b%2Fc%3Fd%26e%3Df%23g%25h");
  CHECK(percent_encode("\xC3\xA9") == "%C3%A9");
  CHECK(percent_encode("") == "");
}

TEST_CASE("service names: full, or the last part when it names one service", "[shell][names]") {
  troupe::admin::v1::ServiceList list;
  list.add_services()->set_name("demo.counter.v1.Counter");
  list.add_services()->set_name("demo.greeter.v1.Greeter");
  list.add_services()->set_name("a.Twin");
  list.add_services()->set_name("b.Twin");

  CHECK(is_qualified_service_name("demo.counter.v1.Counter"));
  CHECK_FALSE(is_qualified_service_name("Counter"));
  CHECK(resolve_service_name("demo.counter.v1.Counter", list) == "demo.counter.v1.Counter");
  CHECK(resolve_service_name("Counter", list) == "demo.counter.v1.Counter");
  CHECK(resolve_service_name("greeter", list) == "demo.greeter.v1.Greeter");
  CHECK_THROWS_WITH(resolve_service_name("x", list), "no service named 'x' on this node");
  CHECK_THROWS_WITH(resolve_service_name("twin", list), "service name 'twin' is ambiguous: a.Twin, b.Twin");
  CHECK_THROWS_AS(resolve_service_name("x", list), command_failed);
}

TEST_CASE("method names match exactly or ignoring case", "[shell][names]") {
  troupe::admin::v1::ServiceInfo service;
  service.set_name("demo.counter.v1.Counter");
  for (const char* name : {"Add", "Get", "Reset"})
    service.add_methods()->set_name(name);
  CHECK(resolve_method_name("Add", service) == "Add");
  CHECK(resolve_method_name("get", service) == "Get");
  CHECK_THROWS_WITH(resolve_method_name("Mul", service),
                    "service 'demo.counter.v1.Counter' has no method 'Mul' (methods: Add, Get, Reset)");
  CHECK(resolve_method_name("Anything", troupe::admin::v1::ServiceInfo{}) == "Anything");
}
