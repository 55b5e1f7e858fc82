// The router: routes from the services' troupe.http options plus the
// built-in ones; 404 versus 405 (with Allow); conflicts refused at build time.
#include <catch2/catch.hpp>

#include <google/protobuf/descriptor.h>

#include "gateway_test.pb.h"
#include "gateway/src/router.hpp"
#include "troupe/runtime/service_table.hpp"

using namespace troupe::gateway;
using boost::beast::http::verb;
namespace runtime = troupe::runtime;

namespace {

const google::protobuf::ServiceDescriptor* test_service(const std::string& name) {
  auto* file = troupe::gateway_test::AddRequest::descriptor()->file();
  auto* service = file->FindServiceByName(name);
  REQUIRE(service != nullptr);
  return service;
}

std::unique_ptr<runtime::service_entry> entry(const std::string& name,
                                              runtime::service_kind kind) {
  auto e = std::make_unique<runtime::service_entry>();
  e->descriptor = test_service(name);
  e->name = e->descriptor->full_name();
  e->kind = kind;
  return e;
}

using service_list = std::vector<std::unique_ptr<runtime::service_entry>>;

service_list counter_and_library() {
  service_list services;
  services.push_back(entry("Counter", runtime::service_kind::keyed));
  services.push_back(entry("Library", runtime::service_kind::stateless));
  return services;
}

router build(const service_list& services) {
  router r;
  auto builtins = add_builtin_routes(r);
  REQUIRE(builtins.has_value());
  auto added = add_service_routes(r, services);
  INFO((added ? std::string{} : added.error()));
  REQUIRE(added.has_value());
  return r;
}

std::string build_error(const service_list& services) {
  router r;
  REQUIRE(add_builtin_routes(r).has_value());
  auto added = add_service_routes(r, services);
  REQUIRE_FALSE(added.has_value());
  INFO(added.error());
  CHECK(added.error().find('\n') == std::string::npos);  // one line
  return added.error();
}

const method_target& method_of(const route_match& m) {
  REQUIRE(m.result == route_match::outcome::found);
  const auto* target = std::get_if<method_target>(&m.matched->target);
  REQUIRE(target != nullptr);
  return *target;
}

} // namespace

TEST_CASE("gateway router: service routes match to their rpc with bindings",
          "[gateway][router]") {
  auto services = counter_and_library();
  auto r = build(services);

  auto add = r.match(verb::post, "/v1/counters/abc:add");
  const auto& add_target = method_of(add);
  CHECK(add_target.method->full_name() == "troupe.gateway_test.Counter.Add");
  CHECK(add_target.service == services[0].get());
  CHECK(add_target.body == "*");
  CHECK(add_target.key_in_path);
  CHECK(add.bindings == path_bindings{{"key", "abc"}});

  auto get = r.match(verb::get, "/v1/counters/abc");
  CHECK(method_of(get).method->name() == "Get");
  CHECK(method_of(get).body.empty());

  auto reset = r.match(verb::post, "/v1/counters/a%2Fb:reset");
  CHECK(method_of(reset).method->name() == "Reset");
  CHECK(reset.bindings == path_bindings{{"key", "a/b"}});

  auto search = r.match(verb::get, "/v1/shelves/s1/books");
  CHECK(method_of(search).method->name() == "Search");
  CHECK(search.bindings == path_bindings{{"shelf", "s1"}});

  auto update = r.match(verb::patch, "/v1/shelves/s1/book");
  CHECK(method_of(update).body == "book");

  auto paged = r.match(verb::get, "/v1/pages/tok/s2");
  CHECK(paged.bindings == path_bindings{{"page.token", "tok"}, {"shelf", "s2"}});
}

TEST_CASE("gateway router: built-in routes are matched too", "[gateway][router]") {
  auto services = counter_and_library();
  auto r = build(services);
  auto health = r.match(verb::get, "/healthz");
  REQUIRE(health.result == route_match::outcome::found);
  CHECK(std::get<builtin_endpoint>(health.matched->target) == builtin_endpoint::healthz);

  auto call = r.match(verb::post,
                      "/admin/v1/services/troupe.gateway_test.Counter/methods/Add:call");
  REQUIRE(call.result == route_match::outcome::found);
  CHECK(std::get<builtin_endpoint>(call.matched->target) == builtin_endpoint::admin_call);
  CHECK(call.bindings
        == path_bindings{{"name", "troupe.gateway_test.Counter"}, {"method", "Add"}});

  auto reset = r.match(verb::post, "/admin/v1/services/x.Y:reset");
  REQUIRE(reset.result == route_match::outcome::found);
  CHECK(std::get<builtin_endpoint>(reset.matched->target)
        == builtin_endpoint::admin_reset_service);
  auto one = r.match(verb::get, "/admin/v1/services/x.Y");
  CHECK(std::get<builtin_endpoint>(one.matched->target) == builtin_endpoint::admin_service);
}

TEST_CASE("gateway router: 404 when no template matches, 405 with Allow when only "
          "other methods do",
          "[gateway][router]") {
  auto services = counter_and_library();
  auto r = build(services);

  CHECK(r.match(verb::get, "/v1/nope").result == route_match::outcome::not_found);
  CHECK(r.match(verb::get, "/").result == route_match::outcome::not_found);
  CHECK(r.match(verb::get, "/v1/counters/k/extra").result == route_match::outcome::not_found);
  CHECK(r.match(verb::post, "/v1/counters/k:nosuchverb").result
        == route_match::outcome::not_found);

  auto wrong = r.match(verb::delete_, "/v1/counters/k");
  REQUIRE(wrong.result == route_match::outcome::method_not_allowed);
  CHECK(wrong.allow == "GET");

  // The verb decides the path: GET on an :add path is a 405, not Get with key "k:add".
  auto get_add = r.match(verb::get, "/v1/counters/k:add");
  REQUIRE(get_add.result == route_match::outcome::method_not_allowed);
  CHECK(get_add.allow == "POST");

  auto on_readyz = r.match(verb::post, "/readyz");
  REQUIRE(on_readyz.result == route_match::outcome::method_not_allowed);
  CHECK(on_readyz.allow == "GET");

  auto services_list = r.match(verb::put, "/admin/v1/services/x.Y");
  REQUIRE(services_list.result == route_match::outcome::method_not_allowed);
  CHECK(services_list.allow == "GET");
}

TEST_CASE("gateway router: several methods on one path are all listed in Allow",
          "[gateway][router]") {
  router r;
  REQUIRE(r.add(verb::get, "/v1/things/{id}", builtin_endpoint::healthz));
  REQUIRE(r.add(verb::delete_, "/v1/things/{id}", builtin_endpoint::healthz));
  REQUIRE(r.add(verb::patch, "/v1/things/{name}", builtin_endpoint::healthz));
  auto m = r.match(verb::post, "/v1/things/7");
  REQUIRE(m.result == route_match::outcome::method_not_allowed);
  CHECK(m.allow == "DELETE, GET, PATCH");
}

TEST_CASE("gateway router: a malformed path is reported, not matched", "[gateway][router]") {
  auto services = counter_and_library();
  auto r = build(services);
  auto m = r.match(verb::get, "/v1/counters/bad%zzkey");
  REQUIRE(m.result == route_match::outcome::bad_path);
  CHECK_THAT(m.error, Catch::Contains("percent-encoding"));
}

TEST_CASE("gateway router: the more literal template wins an overlap", "[gateway][router]") {
  router r;
  REQUIRE(r.add(verb::get, "/v1/items/{id}", builtin_endpoint::admin_service));
  REQUIRE(r.add(verb::get, "/v1/items/special", builtin_endpoint::healthz));
  REQUIRE(r.add(verb::get, "/v1/{kind}/special", builtin_endpoint::readyz));
  auto special = r.match(verb::get, "/v1/items/special");
  CHECK(std::get<builtin_endpoint>(special.matched->target) == builtin_endpoint::healthz);
  auto other = r.match(verb::get, "/v1/items/other");
  CHECK(std::get<builtin_endpoint>(other.matched->target) == builtin_endpoint::admin_service);
  auto kinds = r.match(verb::get, "/v1/boxes/special");
  CHECK(std::get<builtin_endpoint>(kinds.matched->target) == builtin_endpoint::readyz);
}

TEST_CASE("gateway router: conflicting routes are refused when built", "[gateway][router]") {
  SECTION("two services claim the same route") {
    auto services = counter_and_library();
    services.push_back(entry("CounterClash", runtime::service_kind::stateless));
    auto error = build_error(services);
    CHECK_THAT(error, Catch::Contains("troupe.gateway_test.CounterClash.Peek"));
    CHECK_THAT(error, Catch::Contains("troupe.gateway_test.Counter.Get"));
    CHECK_THAT(error, Catch::Contains("GET /v1/counters/{key}"));
    CHECK_THAT(error, Catch::Contains("conflicts"));
  }
  SECTION("a route with other variable names but the same shape") {
    router r;
    REQUIRE(r.add(verb::get, "/v1/x/{a}", builtin_endpoint::healthz));
    auto clash = r.add(verb::get, "/v1/x/{b}", builtin_endpoint::readyz);
    REQUIRE_FALSE(clash);
    CHECK_THAT(clash.error(), Catch::Contains("conflicts with GET /v1/x/{a}"));
    // Another method on the same template is fine.
    REQUIRE(r.add(verb::post, "/v1/x/{b}", builtin_endpoint::readyz));
    // So is another verb suffix.
    REQUIRE(r.add(verb::get, "/v1/x/{b}:peek", builtin_endpoint::readyz));
  }
  SECTION("a service route on a built-in path") {
    router r;
    REQUIRE(add_builtin_routes(r));
    auto clash = r.add(verb::get, "/healthz", builtin_endpoint::readyz);
    REQUIRE_FALSE(clash);
    CHECK_THAT(clash.error(), Catch::Contains("GET /healthz"));
  }
}

TEST_CASE("gateway router: routes that do not fit their request message are refused",
          "[gateway][router]") {
  SECTION("a variable naming no field") {
    service_list services;
    services.push_back(entry("BadField", runtime::service_kind::stateless));
    auto error = build_error(services);
    CHECK_THAT(error, Catch::Contains("troupe.gateway_test.BadField"));
    CHECK_THAT(error, Catch::Contains("nope"));
  }
  SECTION("a malformed template") {
    service_list services;
    services.push_back(entry("BadTemplate", runtime::service_kind::stateless));
    auto error = build_error(services);
    CHECK_THAT(error, Catch::Contains("v1/no-leading-slash"));
    CHECK_THAT(error, Catch::Contains("must begin with '/'"));
  }
  SECTION("a keyed service's route with no way to give the key") {
    service_list services;
    services.push_back(entry("KeylessKeyed", runtime::service_kind::keyed));
    auto error = build_error(services);
    CHECK_THAT(error, Catch::Contains("{key}"));
  }
}

TEST_CASE("gateway router: {key} of a stateless service must name a field",
          "[gateway][router]") {
  // Counter's routes bind {key}; GetRequest has a field `key`, so they are
  // valid for a stateless service too (the field is filled, no actor key).
  service_list services;
  services.push_back(entry("Counter", runtime::service_kind::stateless));
  auto r = build(services);
  CHECK_FALSE(method_of(r.match(verb::get, "/v1/counters/k")).key_in_path);
}

TEST_CASE("gateway router: many routes of many lengths each match their own paths",
          "[gateway][router]") {
  // Routes are looked up among the templates of the path's own length; the
  // paths below exercise every length, and lengths with no route at all.
  router r;
  REQUIRE(add_builtin_routes(r).has_value());
  for (int length = 1; length <= 6; ++length)
    for (int i = 0; i < 50; ++i) {
      std::string path = "/r" + std::to_string(i);
      for (int s = 1; s < length; ++s)
        path += s == length - 1 ? "/{key}" : "/s" + std::to_string(s);
      REQUIRE(r.add(verb::get, path, builtin_endpoint::healthz).has_value());
    }
  for (int length = 1; length <= 6; ++length)
    for (int i : {0, 17, 49}) {
      std::string path = "/r" + std::to_string(i);
      for (int s = 1; s < length; ++s)
        path += s == length - 1 ? "/k" + std::to_string(length) : "/s" + std::to_string(s);
      INFO(path);
      auto m = r.match(verb::get, path);
      REQUIRE(m.result == route_match::outcome::found);
      CHECK(m.matched->path.segments().size() == static_cast<size_t>(length));
      CHECK(m.matched->path.text().rfind("/r" + std::to_string(i) + (length > 1 ? "/" : ""), 0)
            == 0);
      if (length > 1)
        CHECK(m.bindings == path_bindings{{"key", "k" + std::to_string(length)}});
    }
  CHECK(r.match(verb::get, "/r0/s1/s2/s3/s4/s5/s6/s7/s8").result
        == route_match::outcome::not_found);  // longer than every template
  CHECK(r.match(verb::get, "/r50").result == route_match::outcome::not_found);
  CHECK(r.match(verb::post, "/r3/k").result == route_match::outcome::method_not_allowed);
}
