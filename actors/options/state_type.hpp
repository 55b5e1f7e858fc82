// The state message type a KEYED service declares with (troupe.service).state,
// and the event type of a journaled one (state.journal.event), resolved one
// way for protoc-gen-troupe (which generates the accessors) and the runtime
// (which loads and stores them). Header only: each reader compiles
// troupe/options.pb.h itself.
#pragma once

#include <cstdint>
#include <string>

#include <google/protobuf/descriptor.h>

#include "troupe/options.pb.h"

namespace troupe::options {

/// `type_name` looked up as protobuf looks up a field's type name, from
/// `service`'s package outwards, then as a full name. Null when it is empty
/// or unknown.
inline const google::protobuf::Descriptor*
resolve_message_type(const google::protobuf::ServiceDescriptor& service,
                     const std::string& type_name) {
  if (type_name.empty())
    return nullptr;
  std::string name = type_name;
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

/// The declared state type of `service`. Null when the service declares none
/// or the name is unknown.
inline const google::protobuf::Descriptor*
declared_state_type(const google::protobuf::ServiceDescriptor& service) {
  if (!service.options().HasExtension(troupe::service))
    return nullptr;
  return resolve_message_type(service,
                              service.options().GetExtension(troupe::service).state().type());
}

/// True when `service` declares a state type (resolvable or not).
inline bool declares_state(const google::protobuf::ServiceDescriptor& service) {
  return service.options().HasExtension(troupe::service)
         && !service.options().GetExtension(troupe::service).state().type().empty();
}

/// True when `service` declares that its state is journaled
/// (state.journal is set).
inline bool declares_journal(const google::protobuf::ServiceDescriptor& service) {
  return service.options().HasExtension(troupe::service)
         && service.options().GetExtension(troupe::service).state().has_journal();
}

/// The event type of a journaled `service`. Null when the service declares
/// no journal or the name is unknown.
inline const google::protobuf::Descriptor*
declared_event_type(const google::protobuf::ServiceDescriptor& service) {
  if (!declares_journal(service))
    return nullptr;
  return resolve_message_type(
    service, service.options().GetExtension(troupe::service).state().journal().event());
}

/// Snapshots of a journaled service are stored every this many events at
/// most; the validator refuses more.
inline constexpr std::uint32_t default_snapshot_every = 100;
inline constexpr std::uint32_t max_snapshot_every = 100'000;

/// The declared snapshot interval of `options`, with its default.
inline std::uint32_t snapshot_every(const troupe::JournalOptions& options) {
  return options.snapshot_every() == 0 ? default_snapshot_every : options.snapshot_every();
}

/// True when `service` declares key-value storage (kv is set).
inline bool declares_key_value(const google::protobuf::ServiceDescriptor& service) {
  return service.options().HasExtension(troupe::service)
         && service.options().GetExtension(troupe::service).has_kv();
}

} // namespace troupe::options
