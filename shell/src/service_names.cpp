#include "service_names.hpp"

#include <algorithm>
#include <vector>

#include "errors.hpp"

namespace troupe::shell {

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view last_part(std::string_view name) {
  const auto dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text;
}

} // namespace

bool is_qualified_service_name(std::string_view name) noexcept {
  return name.find('.') != std::string_view::npos;
}

std::string resolve_service_name(std::string_view name, const admin::v1::ServiceList& services) {
  std::vector<std::string> matches;
  for (const auto& service : services.services()) {
    if (service.name() == name)
      return service.name();
    if (iequals(last_part(service.name()), name) || iequals(service.name(), name))
      matches.push_back(service.name());
  }
  if (matches.size() == 1)
    return matches.front();
  if (matches.empty())
    throw command_failed("no service named '" + std::string(name) + "' on this node");
  throw command_failed("service name '" + std::string(name) + "' is ambiguous: " + join(matches));
}

std::string resolve_method_name(std::string_view method, const admin::v1::ServiceInfo& service) {
  if (service.methods().empty())
    return std::string(method);
  std::vector<std::string> all;
  std::vector<std::string> matches;
  for (const auto& info : service.methods()) {
    if (info.name() == method)
      return info.name();
    if (iequals(info.name(), method))
      matches.push_back(info.name());
    all.push_back(info.name());
  }
  if (matches.size() == 1)
    return matches.front();
  if (matches.empty())
    throw command_failed("service '" + service.name() + "' has no method '" + std::string(method)
                         + "' (methods: " + join(all) + ")");
  throw command_failed("method name '" + std::string(method) + "' is ambiguous: " + join(matches));
}

} // namespace troupe::shell
