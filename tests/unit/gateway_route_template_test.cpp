// Route templates: parsing (and its errors), matching request paths,
// percent-decoding, custom verbs, and the request-target helpers.
#include <catch2/catch.hpp>

#include "gateway/src/route_template.hpp"
#include "gateway/src/uri.hpp"

using namespace troupe::gateway;

namespace {

route_template parse_ok(std::string_view text) {
  auto parsed = route_template::parse(text);
  INFO("template: " << text);
  REQUIRE(parsed.has_value());
  return std::move(parsed).value();
}

std::string parse_error(std::string_view text) {
  auto parsed = route_template::parse(text);
  INFO("template: " << text);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

/// The bindings when `path` matches `templ`; nullopt when it does not.
std::optional<path_bindings> match(std::string_view templ, std::string_view path) {
  auto t = parse_ok(templ);
  auto p = request_path::parse(path);
  INFO("path: " << path);
  REQUIRE(p.has_value());
  path_bindings bindings;
  if (!t.match(*p, bindings))
    return std::nullopt;
  return bindings;
}

path_bindings bound(std::initializer_list<std::pair<std::string, std::string>> pairs) {
  return path_bindings(pairs);
}

} // namespace

TEST_CASE("gateway route template: segments, variables and verb are parsed",
          "[gateway][route_template]") {
  auto t = parse_ok("/v1/shelves/{shelf}/books/*/{page.token}:list");
  REQUIRE(t.text() == "/v1/shelves/{shelf}/books/*/{page.token}:list");
  REQUIRE(t.verb() == "list");
  REQUIRE(t.segments().size() == 6);
  using kind = route_template::segment_kind;
  CHECK(t.segments()[0].kind == kind::literal);
  CHECK(t.segments()[0].text == "v1");
  CHECK(t.segments()[2].kind == kind::variable);
  CHECK(t.segments()[2].text == "shelf");
  CHECK(t.segments()[4].kind == kind::wildcard);
  CHECK(t.segments()[5].text == "page.token");
  REQUIRE(t.variables() == std::vector<std::string>{"shelf", "page.token"});

  auto root = parse_ok("/");
  REQUIRE(root.segments().empty());
  REQUIRE(root.verb().empty());
}

TEST_CASE("gateway route template: bad templates are refused with a clear reason",
          "[gateway][route_template]") {
  CHECK_THAT(parse_error(""), Catch::Contains("must begin with '/'"));
  CHECK_THAT(parse_error("v1/x"), Catch::Contains("must begin with '/'"));
  CHECK_THAT(parse_error("/v1//x"), Catch::Contains("empty segment"));
  CHECK_THAT(parse_error("/v1/x/"), Catch::Contains("empty segment"));
  CHECK_THAT(parse_error("/v1/{key"), Catch::Contains("whole segment"));
  CHECK_THAT(parse_error("/v1/{}"), Catch::Contains("not a field path"));
  CHECK_THAT(parse_error("/v1/{a..b}"), Catch::Contains("not a field path"));
  CHECK_THAT(parse_error("/v1/{1abc}"), Catch::Contains("not a field path"));
  CHECK_THAT(parse_error("/v1/{name=shelves/*}"), Catch::Contains("not supported"));
  CHECK_THAT(parse_error("/v1/**"), Catch::Contains("not supported"));
  CHECK_THAT(parse_error("/v1/{a}/{a}"), Catch::Contains("bound twice"));
  CHECK_THAT(parse_error("/v1/x:"), Catch::Contains("verb"));
  CHECK_THAT(parse_error("/v1:a/x"), Catch::Contains("':'"));
  CHECK_THAT(parse_error("/:verb"), Catch::Contains("verb"));
  CHECK_THAT(parse_error("/v1/a b"), Catch::Contains("neither a literal"));
  CHECK_THAT(parse_error("/v1/x?y"), Catch::Contains("neither a literal"));
  CHECK_THAT(parse_error("/v1/pre{key}"), Catch::Contains("neither a literal"));
  // The error names the template it is about.
  CHECK_THAT(parse_error("/v1//x"), Catch::Contains("\"/v1//x\""));
}

TEST_CASE("gateway route template: literal and variable segments match",
          "[gateway][route_template]") {
  REQUIRE(match("/v1/counters/{key}", "/v1/counters/abc") == bound({{"key", "abc"}}));
  REQUIRE(match("/v1/counters", "/v1/counters") == path_bindings{});
  REQUIRE(match("/", "/") == path_bindings{});
  REQUIRE(match("/v1/*/x", "/v1/anything/x") == path_bindings{});
  REQUIRE(match("/v1/{a}/{b.c}", "/v1/one/two") == bound({{"a", "one"}, {"b.c", "two"}}));

  CHECK_FALSE(match("/v1/counters/{key}", "/v1/counters"));
  CHECK_FALSE(match("/v1/counters/{key}", "/v1/counters/abc/def"));
  CHECK_FALSE(match("/v1/counters/{key}", "/v1/counters/"));  // empty segment
  CHECK_FALSE(match("/v1/counters/{key}", "/v2/counters/abc"));
  CHECK_FALSE(match("/v1/counters", "/v1/counters/"));
  CHECK_FALSE(match("/", "/x"));
  CHECK_FALSE(match("/v1/*/x", "/v1//x"));
}

TEST_CASE("gateway route template: segment values are percent-decoded",
          "[gateway][route_template]") {
  REQUIRE(match("/v1/counters/{key}", "/v1/counters/a%20b") == bound({{"key", "a b"}}));
  // An encoded '/' stays inside its segment.
  REQUIRE(match("/v1/counters/{key}", "/v1/counters/a%2Fb") == bound({{"key", "a/b"}}));
  REQUIRE(match("/v1/counters/{key}", "/v1/counters/%C3%A9t%C3%A9")
          == bound({{"key", "\xC3\xA9t\xC3\xA9"}}));
  // '+' is not a space in a path.
  REQUIRE(match("/v1/counters/{key}", "/v1/counters/a+b") == bound({{"key", "a+b"}}));
  // Literals are compared after decoding.
  REQUIRE(match("/v1/counters/{key}", "/v1/count%65rs/k") == bound({{"key", "k"}}));

  CHECK_FALSE(request_path::parse("/v1/counters/bad%zz").has_value());
  CHECK_FALSE(request_path::parse("/v1/counters/bad%4").has_value());
  CHECK_FALSE(request_path::parse("/v1/counters/bad%").has_value());
  CHECK_FALSE(request_path::parse("/v1/x%G0/y").has_value());
  CHECK_FALSE(request_path::parse("no-slash").has_value());
}

TEST_CASE("gateway route template: a custom verb must match exactly",
          "[gateway][route_template]") {
  REQUIRE(match("/v1/counters/{key}:add", "/v1/counters/abc:add") == bound({{"key", "abc"}}));
  CHECK_FALSE(match("/v1/counters/{key}:add", "/v1/counters/abc:reset"));
  CHECK_FALSE(match("/v1/counters/{key}:add", "/v1/counters/abc"));
  CHECK_FALSE(match("/v1/counters/{key}:add", "/v1/counters/abc:"));
  // A template without a verb never matches a path with one ...
  CHECK_FALSE(match("/v1/counters/{key}", "/v1/counters/abc:add"));
  CHECK_FALSE(match("/v1/counters/{key}", "/v1/counters/abc:"));
  // ... and the verb may follow a literal.
  REQUIRE(match("/v1/counters:batchGet", "/v1/counters:batchGet") == path_bindings{});
}

TEST_CASE("gateway route template: keys containing ':'", "[gateway][route_template]") {
  // The last segment is split at its last ':', so with a verb the key may hold ':'.
  REQUIRE(match("/v1/counters/{key}:add", "/v1/counters/a:b:add") == bound({{"key", "a:b"}}));
  // Without a verb, a ':' in the last segment must be sent as %3A ...
  REQUIRE(match("/v1/counters/{key}", "/v1/counters/a%3Ab") == bound({{"key", "a:b"}}));
  REQUIRE(match("/v1/counters/{key}:add", "/v1/counters/a%3Ab:add")
          == bound({{"key", "a:b"}}));
  // ... since a literal ':' there introduces a verb.
  CHECK_FALSE(match("/v1/counters/{key}", "/v1/counters/a:b"));
  // ':' in segments before the last is plain data.
  REQUIRE(match("/v1/{a}/x", "/v1/p:q/x") == bound({{"a", "p:q"}}));
}

TEST_CASE("gateway route template: shapes and specificity", "[gateway][route_template]") {
  auto a = parse_ok("/v1/counters/{key}");
  auto b = parse_ok("/v1/counters/{id}");
  auto c = parse_ok("/v1/counters/*");
  auto d = parse_ok("/v1/counters/special");
  auto e = parse_ok("/v1/counters/{key}:add");
  CHECK(a.same_shape(b));
  CHECK(a.same_shape(c));
  CHECK_FALSE(a.same_shape(d));
  CHECK_FALSE(a.same_shape(e));
  CHECK(d.compare_specificity(a) < 0);
  CHECK(a.compare_specificity(d) > 0);
  CHECK(a.compare_specificity(b) == 0);
  auto left = parse_ok("/v1/a/{x}");
  auto right = parse_ok("/v1/{y}/b");
  CHECK(left.compare_specificity(right) < 0);  // the leftmost literal wins
}

TEST_CASE("gateway uri: request targets split into path and query", "[gateway][uri]") {
  auto t = split_target("/v1/x?a=1&b=2");
  REQUIRE(t);
  CHECK(t->path == "/v1/x");
  CHECK(t->query == "a=1&b=2");
  t = split_target("/v1/x");
  REQUIRE(t);
  CHECK(t->query.empty());
  t = split_target("http://example.com:8080/v1/x?q");
  REQUIRE(t);
  CHECK(t->path == "/v1/x");
  CHECK(t->query == "q");
  t = split_target("HTTP://example.com");
  REQUIRE(t);
  CHECK(t->path == "/");
  CHECK_FALSE(split_target("*"));
  CHECK_FALSE(split_target("v1/x"));
  CHECK_FALSE(split_target(""));
}

TEST_CASE("gateway uri: query parameters are decoded", "[gateway][uri]") {
  auto q = parse_query("a=1&b=x%20y&c=p+q&flag&&d=");
  REQUIRE(q);
  REQUIRE(q->size() == 5);
  CHECK((*q)[0].name == "a");
  CHECK((*q)[0].value == "1");
  CHECK((*q)[1].value == "x y");
  CHECK((*q)[2].value == "p q");
  CHECK((*q)[3].name == "flag");
  CHECK((*q)[3].value.empty());
  CHECK((*q)[4].name == "d");
  CHECK((*q)[4].value.empty());

  auto bad = parse_query("a=%zz");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("'a'"));
  REQUIRE(parse_query("")->empty());
}
