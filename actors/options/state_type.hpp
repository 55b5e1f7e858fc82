// The state message type a KEYED service declares with (troupe.service).state,
// resolved one way for protoc-gen-troupe (which generates the accessors) and
// the runtime (which loads and stores it). Header only: each reader compiles
// troupe/options.pb.h itself.
#pragma once

#include <string>

#include <google/protobuf/descriptor.h>

#include "troupe/options.pb.h"

namespace troupe::options {

/// The declared state type of `service`: `type` looked up as protobuf looks
/// up a field's type name, from the service's package outwards, then as a
/// full name. Null when the service declares none or the name is unknown.
inline const google::protobuf::Descriptor*
declared_state_type(const google::protobuf::ServiceDescriptor& service) {
  if (!service.options().HasExtension(troupe::service))
    return nullptr;
  const auto& state = service.options().GetExtension(troupe::service).state();
  if (state.type().empty())
    return nullptr;
  std::string name = state.type();
  if (name.front() == '.')
    name.erase(0, 1);
  const auto* pool = service.file()->pool();
  std::string scope = service.file()->package();
  for (;;) {
    auto candidate = scope.empty() ? name : scope + "." + name;
    if (const auto* type = pool->FindMessageTypeByName(candidate))
      return type;
    if (scope.empty())
      return nullptr;
    auto dot = scope.rfind('.');
    scope = dot == std::string::npos ? std::string{} : scope.substr(0, dot);
  }
}

/// True when `service` declares a state type (resolvable or not).
inline bool declares_state(const google::protobuf::ServiceDescriptor& service) {
  return service.options().HasExtension(troupe::service)
         && !service.options().GetExtension(troupe::service).state().type().empty();
}

} // namespace troupe::options
