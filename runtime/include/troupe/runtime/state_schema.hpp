// The schema of a state message as a state store keeps it beside the data
// (namespace_options::state_type and state_descriptors), so that a version
// of a service whose state message cannot read what is stored is refused at
// start.
#pragma once

#include "troupe/runtime/state_store.hpp"

namespace google::protobuf {
class Descriptor;
} // namespace google::protobuf

namespace troupe::runtime {

/// Sets `options`' state_type to `type`'s full name and state_descriptors to
/// a serialized FileDescriptorSet of `type`'s file and every file it imports,
/// directly or not, imports first.
void describe_state(const google::protobuf::Descriptor& type, namespace_options& options);

/// The same for the event message of a journaled state: event_type and
/// event_descriptors.
void describe_events(const google::protobuf::Descriptor& type, namespace_options& options);

} // namespace troupe::runtime
