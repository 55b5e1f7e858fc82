#include "router.hpp"

#include <algorithm>
#include <set>
#include <span>

#include <google/protobuf/descriptor.h>

#include "field_path.hpp"
#include "http_rule.hpp"
#include "troupe/options.pb.h"
#include "troupe/runtime/service_table.hpp"

namespace troupe::gateway {

namespace http = boost::beast::http;
namespace pb = google::protobuf;

namespace {

std::string name_of(http::verb verb) {
  auto name = http::to_string(verb);
  return {name.data(), name.size()};
}

} // namespace

std::string describe(const route_target& target) {
  if (const auto* method = std::get_if<method_target>(&target))
    return method->method->full_name();
  return "the built-in route";
}

expected<void, std::string> router::add(http::verb verb, std::string_view path_template,
                                        route_target target) {
  auto parsed = route_template::parse(path_template);
  if (!parsed)
    return unexpected(describe(target) + ": " + parsed.error());
  for (const auto& existing : routes_)
    if (existing.verb == verb && existing.path.same_shape(*parsed))
      return unexpected(describe(target) + ": route " + name_of(verb)
                        + " " + std::string{path_template} + " conflicts with "
                        + name_of(existing.verb) + " "
                        + existing.path.text() + " of " + describe(existing.target));
  routes_.push_back({verb, std::move(*parsed), std::move(target)});
  auto length = routes_.back().path.segments().size();
  if (by_length_.size() <= length)
    by_length_.resize(length + 1);
  by_length_[length].push_back(routes_.size() - 1);
  return {};
}

route_match router::match(http::verb verb, std::string_view raw_path) const {
  route_match result;
  auto path = request_path::parse(raw_path);
  if (!path) {
    result.result = route_match::outcome::bad_path;
    result.error = std::move(path).error();
    return result;
  }
  std::set<http::verb> other_verbs;
  path_bindings scratch;
  const auto length = path->segments.size();
  auto candidates = length < by_length_.size() ? std::span<const std::size_t>{by_length_[length]}
                                               : std::span<const std::size_t>{};
  for (auto index : candidates) {
    const auto& candidate = routes_[index];
    scratch.clear();
    if (!candidate.path.match(*path, scratch))
      continue;
    if (candidate.verb != verb) {
      other_verbs.insert(candidate.verb);
      continue;
    }
    if (result.matched == nullptr
        || candidate.path.compare_specificity(result.matched->path) < 0) {
      result.matched = &candidate;
      result.bindings.swap(scratch);
    }
  }
  if (result.matched != nullptr) {
    result.result = route_match::outcome::found;
  } else if (!other_verbs.empty()) {
    result.result = route_match::outcome::method_not_allowed;
    for (auto v : other_verbs) {
      if (!result.allow.empty())
        result.allow += ", ";
      result.allow += name_of(v);
    }
  }
  return result;
}

expected<void, std::string> add_builtin_routes(router& r) {
  for (const auto& builtin : builtin_routes())
    if (auto added = r.add(builtin.verb, builtin.path_template, builtin.endpoint); !added)
      return added;
  return {};
}

namespace {

/// Checks the route's bindings against the request message.
expected<void, std::string> check_bindings(const runtime::service_entry& service,
                                           const route_template& path,
                                           const std::string& body, bool& key_in_path,
                                           const pb::Descriptor& input) {
  bool keyed = service.kind == runtime::service_kind::keyed;
  key_in_path = false;
  for (const auto& variable : path.variables()) {
    if (keyed && variable == "key") {
      key_in_path = true;
      auto* field = input.FindFieldByName("key");
      if (field != nullptr && !is_singular_scalar(*field))
        return unexpected(std::string{"{key} binds field 'key' of "} + input.full_name()
                          + ", which is not a singular scalar");
      continue;
    }
    auto fields = resolve_field_path(input, variable);
    if (!fields)
      return unexpected("{" + variable + "}: " + fields.error());
    if (!is_singular_scalar(*fields->back()))
      return unexpected("{" + variable + "} must name a singular scalar field");
  }
  if (!body.empty() && body != "*") {
    auto* field = input.FindFieldByName(body);
    if (field == nullptr)
      return unexpected("body \"" + body + "\": no such field in " + input.full_name());
    if (field->is_repeated() || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)
      return unexpected("body \"" + body
                        + "\" must be \"*\" or name a singular message field");
  }
  if (keyed && !key_in_path) {
    auto* field = input.FindFieldByName("key");
    if (field == nullptr || field->type() != pb::FieldDescriptor::TYPE_STRING
        || field->is_repeated())
      return unexpected(std::string{"a keyed service's route needs {key} in its path, or a "
                                    "string field 'key' in "}
                        + input.full_name());
  }
  return {};
}

} // namespace

expected<void, std::string>
add_service_routes(router& r,
                   std::span<const std::unique_ptr<runtime::service_entry>> services) {
  for (const auto& service : services) {
    const pb::ServiceDescriptor* descriptor = service->descriptor;
    if (descriptor == nullptr)
      continue;
    for (int i = 0; i < descriptor->method_count(); ++i) {
      const pb::MethodDescriptor* method = descriptor->method(i);
      if (!method->options().HasExtension(troupe::http))
        continue;
      const auto& rule = method->options().GetExtension(troupe::http);
      auto pattern = troupe::options::pattern_of(rule);
      if (!pattern)
        continue;
      auto verb = http::string_to_verb({pattern->verb.data(), pattern->verb.size()});
      auto fail = [&](const std::string& why) {
        return unexpected("service " + service->name + ", rpc " + method->name() + ": "
                          + why);
      };
      const std::string& path_text = pattern->path;
      if (path_text.rfind(admin_path_prefix, 0) == 0
          || path_text == admin_path_prefix.substr(0, admin_path_prefix.size() - 1))
        return fail("route " + path_text + " lies under " + std::string{admin_path_prefix}
                    + ", which is reserved for the admin API");
      auto parsed = route_template::parse(path_text);
      if (!parsed)
        return fail(parsed.error());
      method_target target{service.get(), method, rule.body(), false};
      if (auto checked = check_bindings(*service, *parsed, rule.body(),
                                        target.key_in_path, *method->input_type());
          !checked)
        return fail("route " + std::string{pattern->verb} + " "
                    + path_text + ": " + checked.error());
      if (auto added = r.add(verb, path_text, std::move(target)); !added)
        return unexpected(std::move(added).error());
    }
  }
  return {};
}

} // namespace troupe::gateway
