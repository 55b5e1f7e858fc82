// Maps (HTTP method, path) to what answers it: a method of a hosted service
// or a built-in endpoint. Built once when the gateway starts, immutable and
// shared by all I/O threads afterwards.
//
// Two routes of one HTTP method conflict when their templates have the same
// shape (same literals at the same places, same verb; variable names do not
// matter); add() refuses the second one. Templates of different shape may
// still match one path (/v1/a/{x} and /v1/{y}/b both match /v1/a/b): the
// template with a literal at the leftmost differing segment wins.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "builtin_endpoint.hpp"
#include "expected.hpp"
#include "route_template.hpp"

namespace google::protobuf {
class MethodDescriptor;
} // namespace google::protobuf

namespace troupe::runtime {
struct service_entry;
} // namespace troupe::runtime

namespace troupe::gateway {

/// A route to an rpc of a hosted service.
struct method_target {
  const runtime::service_entry* service = nullptr;
  const google::protobuf::MethodDescriptor* method = nullptr;
  /// Where the JSON body goes: "" nowhere (the body is ignored), "*" the
  /// whole request message, otherwise the named message field.
  std::string body;
  /// Keyed services: whether the template has {key}; if not, the key is the
  /// request's "key" field, filled from the body or the query.
  bool key_in_path = false;
};

using route_target = std::variant<method_target, builtin_endpoint>;

/// "demo.Counter.Add" or "the built-in route".
std::string describe(const route_target& target);

struct route {
  boost::beast::http::verb verb;
  route_template path;
  route_target target;
};

struct route_match {
  enum class outcome {
    found,               // `matched` and `bindings` are set
    not_found,           // 404: no template matches the path
    method_not_allowed,  // 405: templates match, of other methods: `allow`
    bad_path,            // 400: the path is malformed: `error`
  };

  outcome result = outcome::not_found;
  const route* matched = nullptr;
  path_bindings bindings;
  std::string allow;  // "GET, POST": value of the Allow header
  std::string error;
};

class router {
public:
  /// Adds a route. The error is one line naming the route and, for a
  /// conflict, the route it clashes with.
  expected<void, std::string> add(boost::beast::http::verb verb,
                                  std::string_view path_template, route_target target);

  /// `raw_path` is the request target's path, still percent-encoded.
  route_match match(boost::beast::http::verb verb, std::string_view raw_path) const;

  const std::vector<route>& routes() const noexcept {
    return routes_;
  }

private:
  std::vector<route> routes_;
  // Indices into routes_ by the number of path segments, in the order added:
  // a path is matched only against templates of its own length, so a
  // request costs a few template matches however many routes there are.
  std::vector<std::vector<std::size_t>> by_length_;
};

/// Adds every built-in route.
expected<void, std::string> add_builtin_routes(router& r);

/// Adds a route for each rpc with a troupe.http option, checking it against
/// the request message: every {field} must name a singular scalar field (for
/// keyed services {key} needs no field), the body rule must be "", "*" or a
/// singular message field, a keyed service's route without {key} needs a
/// string field `key`, and no route may lie under /admin/. The error is one
/// line naming the service, the rpc and the fault.
expected<void, std::string>
add_service_routes(router& r,
                   std::span<const std::unique_ptr<runtime::service_entry>> services);

} // namespace troupe::gateway
