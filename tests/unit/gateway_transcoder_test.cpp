// JSON transcoding: request messages from body, query and path; replies to
// JSON; and errors that name the field at fault.
#include <catch2/catch.hpp>

#include "gateway_test.pb.h"
#include "gateway/src/transcoder.hpp"

using namespace troupe::gateway;
namespace test = troupe::gateway_test;

namespace {

struct request_input {
  request_input(std::string b = {}, std::string type = "application/json",
                std::string q = {}, path_bindings pb = {})
    : body(std::move(b)), content_type(std::move(type)), query(std::move(q)),
      bindings(std::move(pb)) {
  }

  std::string body;
  std::string content_type;
  std::string query;
  path_bindings bindings;
};

template <class Message>
expected<std::unique_ptr<google::protobuf::Message>, transcode_error>
transcode(const transcoder& codec, std::string_view body_rule, const request_input& in) {
  auto query = parse_query(in.query);
  REQUIRE(query.has_value());
  request_parts parts;
  parts.body = in.body;
  parts.content_type = in.content_type;
  parts.query = *query;
  parts.bindings = in.bindings;
  return codec.request_message(*Message::descriptor(), body_rule, parts);
}

template <class Message>
Message transcode_ok(std::string_view body_rule, const request_input& in) {
  transcoder codec;
  auto result = transcode<Message>(codec, body_rule, in);
  INFO((result ? std::string{} : result.error().detail));
  REQUIRE(result.has_value());
  Message typed;
  typed.CopyFrom(**result);
  return typed;
}

template <class Message>
transcode_error transcode_error_of(std::string_view body_rule, const request_input& in) {
  transcoder codec;
  auto result = transcode<Message>(codec, body_rule, in);
  REQUIRE_FALSE(result.has_value());
  INFO("detail: " << result.error().detail);
  CHECK(result.error().detail.find('\n') == std::string::npos);
  return result.error();
}

} // namespace

TEST_CASE("gateway transcoder: the JSON body fills the request", "[gateway][transcoder]") {
  auto add = transcode_ok<test::AddRequest>("*", {R"({"delta": 5})", "application/json", "",
                                                   {{"key", "abc"}}});
  CHECK(add.key() == "abc");
  CHECK(add.delta() == 5);

  // 64-bit integers may come as JSON strings, as the JSON mapping allows.
  CHECK(transcode_ok<test::AddRequest>("*", {R"({"delta": "-7"})"}).delta() == -7);

  // An empty body is an empty message; so is whitespace.
  CHECK(transcode_ok<test::AddRequest>("*", {""}).delta() == 0);
  CHECK(transcode_ok<test::AddRequest>("*", {" \r\n"}).delta() == 0);

  // Proto names and lowerCamelCase JSON names both work.
  auto search = transcode_ok<test::SearchRequest>(
    "*", {R"({"pageSize": 3, "verbose": true, "tags": ["a", "b"], "page": {"token": "t"}})"});
  CHECK(search.page_size() == 3);
  CHECK(search.verbose());
  CHECK(search.tags_size() == 2);
  CHECK(search.page().token() == "t");
  CHECK(transcode_ok<test::SearchRequest>("*", {R"({"page_size": 4})"}).page_size() == 4);
}

TEST_CASE("gateway transcoder: path bindings fill their fields alongside the body",
          "[gateway][transcoder]") {
  auto add = transcode_ok<test::AddRequest>(
    "*", {R"({"delta": 1})", "application/json", "", {{"key", "from-path"}}});
  CHECK(add.key() == "from-path");
  CHECK(add.delta() == 1);
  // A body that repeats the path's value, or leaves the field at its default.
  for (const char* body : {R"({"key": "from-path", "delta": 1})", R"({"key": "", "delta": 1})"}) {
    request_input in{body, "application/json", "", {{"key", "from-path"}}};
    CHECK(transcode_ok<test::AddRequest>("*", in).key() == "from-path");
  }
}

TEST_CASE("gateway transcoder: a body or query value other than the path's is a 400 "
          "naming the field", "[gateway][transcoder]") {
  SECTION("the body names another key") {
    auto error = transcode_error_of<test::AddRequest>(
      "*", {R"({"key": "from-body", "delta": 1})", "application/json", "", {{"key", "from-path"}}});
    CHECK(error.status == 400);
    CHECK(error.detail == R"(field 'key' is "from-body" in the body but "from-path" in the path)");
  }
  SECTION("the query names another key") {
    auto error = transcode_error_of<test::GetRequest>("", {"", "", "key=q", {{"key", "p"}}});
    CHECK(error.status == 400);
    CHECK(error.detail == R"(field 'key' is "q" in the query but "p" in the path)");
    CHECK(transcode_ok<test::GetRequest>("", {"", "", "key=p", {{"key", "p"}}}).key() == "p");
  }
  SECTION("every binding, not only the key; nested ones too") {
    auto shelf = transcode_error_of<test::UpdateRequest>(
      "book", {R"({"title": "Dune"})", "application/json", "shelf=s2", {{"shelf", "s1"}}});
    CHECK(shelf.status == 400);
    CHECK_THAT(shelf.detail, Catch::StartsWith("field 'shelf' is \"s2\" in the query"));

    auto token = transcode_error_of<test::SearchRequest>(
      "", {"", "", "page.token=t2", {{"page.token", "t1"}, {"shelf", "s"}}});
    CHECK_THAT(token.detail, Catch::StartsWith("field 'page.token' is \"t2\" in the query"));
    auto body_token = transcode_error_of<test::SearchRequest>(
      "*", {R"({"page": {"token": "t2"}})", "application/json", "",
            {{"page.token", "t1"}, {"shelf", "s"}}});
    CHECK_THAT(body_token.detail, Catch::StartsWith("field 'page.token' is \"t2\" in the body"));
  }
  SECTION("values are compared as values") {
    auto search = transcode_ok<test::SearchRequest>(
      "*", {R"({"pageSize": 5, "ratio": 0.5, "shade": "DARK"})", "application/json", "",
            {{"page_size", "5"}, {"ratio", "0.50"}, {"shade", "2"}}});
    CHECK(search.page_size() == 5);
    auto number = transcode_error_of<test::SearchRequest>(
      "*", {R"({"pageSize": 6})", "application/json", "", {{"page_size", "5"}}});
    CHECK(number.detail == R"(field 'page_size' is "6" in the body but "5" in the path)");
    auto shade = transcode_error_of<test::SearchRequest>(
      "*", {R"({"shade": "LIGHT"})", "application/json", "", {{"shade", "DARK"}}});
    CHECK(shade.detail == R"(field 'shade' is "LIGHT" in the body but "DARK" in the path)");
  }
}

TEST_CASE("gateway transcoder: a body rule naming a field fills that field",
          "[gateway][transcoder]") {
  auto update = transcode_ok<test::UpdateRequest>(
    "book", {R"({"title": "Dune", "page": {"size": 2}})", "application/json", "",
             {{"shelf", "s1"}}});
  CHECK(update.shelf() == "s1");
  CHECK(update.book().title() == "Dune");
  CHECK(update.book().page().size() == 2);

  auto error = transcode_error_of<test::UpdateRequest>("book", {R"({"title": 5})"});
  CHECK(error.status == 400);
  CHECK_THAT(error.detail, Catch::Contains("book.title"));
}

TEST_CASE("gateway transcoder: a route without a body ignores one", "[gateway][transcoder]") {
  auto get = transcode_ok<test::GetRequest>("", {R"({"key": "x"})", "text/plain", "",
                                                 {{"key", "k"}}});
  CHECK(get.key() == "k");
}

TEST_CASE("gateway transcoder: query parameters fill scalar fields by name",
          "[gateway][transcoder]") {
  auto search = transcode_ok<test::SearchRequest>(
    "", {"", "", "pageSize=10&verbose=true&tags=a&tags=b%20c&shade=DARK&ratio=0.5&count=7"
                 "&page.token=x%2By&page.size=3&blob=aGk%3D&weight=1.5&big=18446744073709551615"
                 "&numbers=1&numbers=-2",
         {{"shelf", "s"}}});
  CHECK(search.shelf() == "s");
  CHECK(search.page_size() == 10);
  CHECK(search.verbose());
  REQUIRE(search.tags_size() == 2);
  CHECK(search.tags(1) == "b c");
  CHECK(search.shade() == test::DARK);
  CHECK(search.ratio() == 0.5);
  CHECK(search.count() == 7);
  CHECK(search.page().token() == "x+y");
  CHECK(search.page().size() == 3);
  CHECK(search.blob() == "hi");
  CHECK(search.weight() == 1.5f);
  CHECK(search.big() == 18446744073709551615ull);
  REQUIRE(search.numbers_size() == 2);
  CHECK(search.numbers(1) == -2);

  CHECK(transcode_ok<test::SearchRequest>("", {"", "", "page_size=2"}).page_size() == 2);
  CHECK(transcode_ok<test::SearchRequest>("", {"", "", "shade=1"}).shade() == test::LIGHT);
  CHECK(transcode_ok<test::SearchRequest>("", {"", "", "ratio=-Infinity"}).ratio() < 0);
}

TEST_CASE("gateway transcoder: query and path values are parsed strictly",
          "[gateway][transcoder]") {
  struct bad_case {
    const char* query;
    const char* field;
  };
  auto c = GENERATE(values<bad_case>({
    {"pageSize=abc", "pageSize"},
    {"pageSize=", "pageSize"},
    {"pageSize=1.5", "pageSize"},
    {"pageSize=%201", "pageSize"},
    {"pageSize=1%20", "pageSize"},
    {"pageSize=%2B1", "pageSize"},
    {"pageSize=2147483648", "pageSize"},
    {"count=-1", "count"},
    {"count=4294967296", "count"},
    {"big=18446744073709551616", "big"},
    {"verbose=yes", "verbose"},
    {"verbose=1", "verbose"},
    {"shade=PURPLE", "shade"},
    {"ratio=1e", "ratio"},
    {"weight=1e300", "weight"},
    {"blob=*", "blob"},
  }));
  INFO("query: " << c.query);
  auto error = transcode_error_of<test::SearchRequest>("", {"", "", c.query});
  CHECK(error.status == 400);
  std::string quoted_field = "'";
  quoted_field.append(c.field).append("'");
  CHECK_THAT(error.detail, Catch::Contains(quoted_field));
}

TEST_CASE("gateway transcoder: path values are parsed strictly too", "[gateway][transcoder]") {
  auto error = transcode_error_of<test::SearchRequest>(
    "", {"", "", "", {{"shelf", "s"}, {"page_size", "ten"}}});
  CHECK(error.status == 400);
  CHECK_THAT(error.detail, Catch::Contains("page_size"));

  auto utf8 = transcode_error_of<test::GetRequest>("", {"", "", "", {{"key", "\xff\xfe"}}});
  CHECK(utf8.status == 400);
  CHECK_THAT(utf8.detail, Catch::Contains("key"));
  CHECK_THAT(utf8.detail, Catch::Contains("UTF-8"));
}

TEST_CASE("gateway transcoder: query parameter errors name the parameter",
          "[gateway][transcoder]") {
  SECTION("unknown") {
    auto error = transcode_error_of<test::SearchRequest>("", {"", "", "bogus=1"});
    CHECK(error.status == 400);
    CHECK_THAT(error.detail, Catch::Contains("'bogus'"));
  }
  SECTION("unknown nested") {
    auto error = transcode_error_of<test::SearchRequest>("", {"", "", "page.bogus=1"});
    CHECK_THAT(error.detail, Catch::Contains("bogus"));
  }
  SECTION("a message") {
    auto error = transcode_error_of<test::SearchRequest>("", {"", "", "page=1"});
    CHECK_THAT(error.detail, Catch::Contains("'page'"));
  }
  SECTION("a singular field twice") {
    auto error = transcode_error_of<test::SearchRequest>("", {"", "", "count=1&count=2"});
    CHECK_THAT(error.detail, Catch::Contains("more than once"));
  }
  SECTION("any parameter when the body is the whole message") {
    auto error = transcode_error_of<test::AddRequest>("*", {R"({"delta": 1})", "", "delta=2"});
    CHECK_THAT(error.detail, Catch::Contains("'delta'"));
  }
}

TEST_CASE("gateway transcoder: malformed JSON is a 400", "[gateway][transcoder]") {
  auto body = GENERATE(as<std::string>{}, R"({"delta": )", "delta=1", "{oops", "[1, 2]",
                       "null", R"({"delta": 1} trailing)", "\"just a string\"");
  INFO("body: " << body);
  auto error = transcode_error_of<test::AddRequest>("*", {body});
  CHECK(error.status == 400);
  CHECK_THAT(error.detail, Catch::StartsWith("malformed JSON body"));
}

TEST_CASE("gateway transcoder: a value of the wrong type is a 400 naming the field",
          "[gateway][transcoder]") {
  auto body = GENERATE(as<std::string>{}, R"({"delta": "lots"})", R"({"delta": 1.5})",
                       R"({"delta": {"n": 1}})", R"({"delta": true})", R"({"delta": [1]})");
  INFO("body: " << body);
  auto error = transcode_error_of<test::AddRequest>("*", {body});
  CHECK(error.status == 400);
  CHECK_THAT(error.detail, Catch::Contains("'delta'"));
}

TEST_CASE("gateway transcoder: objects and lists where one value belongs",
          "[gateway][transcoder]") {
  CHECK(transcode_error_of<test::AddRequest>("*", {R"({"delta": {"n": 1}})"}).detail
        == "field 'delta': an object where a single value belongs");
  CHECK(transcode_error_of<test::AddRequest>("*", {R"({"delta": [1]})"}).detail
        == "field 'delta': a list where a single value belongs");
  CHECK_THAT(transcode_error_of<test::SearchRequest>("*", {R"({"page": {"size": {}}})"}).detail,
             Catch::StartsWith("field 'page.size'"));
  CHECK_THAT(transcode_error_of<test::SearchRequest>("*", {R"({"page": [1]})"}).detail,
             Catch::StartsWith("field 'page'"));
}

TEST_CASE("gateway transcoder: nested and repeated fields are named with their path",
          "[gateway][transcoder]") {
  auto nested =
    transcode_error_of<test::SearchRequest>("*", {R"({"page": {"size": "x"}})"});
  CHECK_THAT(nested.detail, Catch::Contains("'page.size'"));
  auto element = transcode_error_of<test::SearchRequest>("*", {R"({"numbers": [1, "x"]})"});
  CHECK_THAT(element.detail, Catch::Contains("numbers[1]"));
  auto unknown_nested =
    transcode_error_of<test::SearchRequest>("*", {R"({"page": {"bogus": 1}})"});
  CHECK_THAT(unknown_nested.detail, Catch::Contains("unknown field 'page.bogus'"));
}

TEST_CASE("gateway transcoder: an unknown field is a 400 naming it", "[gateway][transcoder]") {
  auto error = transcode_error_of<test::AddRequest>("*", {R"({"delta": 1, "bogus": 2})"});
  CHECK(error.status == 400);
  CHECK(error.detail == "unknown field 'bogus'");
}

TEST_CASE("gateway transcoder: a body that is not UTF-8 is a 400", "[gateway][transcoder]") {
  auto error = transcode_error_of<test::AddRequest>("*", {"{\"key\": \"\xff\"}"});
  CHECK(error.status == 400);
}

TEST_CASE("gateway transcoder: a body must be application/json", "[gateway][transcoder]") {
  SECTION("other media types are a 415") {
    auto type = GENERATE(as<std::string>{}, "text/plain", "application/x-www-form-urlencoded",
                         "application/jsonx", "application/json-patch+json");
    INFO("Content-Type: " << type);
    auto error = transcode_error_of<test::AddRequest>("*", {R"({"delta": 1})", type});
    CHECK(error.status == 415);
  }
  SECTION("parameters and case do not matter") {
    auto type = GENERATE(as<std::string>{}, "application/json; charset=utf-8",
                         "Application/JSON", " application/json ;charset=UTF-8");
    INFO("Content-Type: " << type);
    CHECK(transcode_ok<test::AddRequest>("*", {R"({"delta": 1})", type}).delta() == 1);
  }
  SECTION("no Content-Type at all is taken as JSON") {
    CHECK(transcode_ok<test::AddRequest>("*", {R"({"delta": 1})", ""}).delta() == 1);
  }
  SECTION("an empty body needs no Content-Type") {
    CHECK(transcode_ok<test::AddRequest>("*", {"", "text/plain"}).delta() == 0);
  }
}

TEST_CASE("gateway transcoder: is_json_media_type", "[gateway][transcoder]") {
  CHECK(is_json_media_type("application/json"));
  CHECK(is_json_media_type("application/json;charset=utf-8"));
  CHECK_FALSE(is_json_media_type(""));
  CHECK_FALSE(is_json_media_type("application/"));
  CHECK_FALSE(is_json_media_type("json"));
}

TEST_CASE("gateway transcoder: replies become JSON with every primitive field",
          "[gateway][transcoder]") {
  transcoder codec;
  test::CounterValue value;
  auto json = codec.reply_json(*test::CounterValue::descriptor(), value.SerializeAsString());
  REQUIRE(json.has_value());
  // Zero values are printed, names are lowerCamelCase, int64 is a string.
  CHECK(*json == R"({"value":"0","smallValue":0,"ownerName":""})");

  value.set_value(42);
  value.set_small_value(-3);
  value.set_owner_name("ann");
  json = codec.reply_json(*test::CounterValue::descriptor(), value.SerializeAsString());
  REQUIRE(json.has_value());
  CHECK(*json == R"({"value":"42","smallValue":-3,"ownerName":"ann"})");

  test::SearchRequest search;
  search.set_shade(test::DARK);
  search.add_tags(std::string{"x"});  // the const char* overload trips GCC 12 -Wrestrict
  json = codec.reply_json(*test::SearchRequest::descriptor(), search.SerializeAsString());
  REQUIRE(json.has_value());
  CHECK_THAT(*json, Catch::Contains(R"("shade":"DARK")"));
  CHECK_THAT(*json, Catch::Contains(R"("tags":["x"])"));
  CHECK_THAT(*json, Catch::Contains(R"("pageSize":0)"));
}
