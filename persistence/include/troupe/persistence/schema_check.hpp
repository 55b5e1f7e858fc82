// Whether a new version of a state message can read state written with an
// older one: the protobuf wire rules, field by field, by field number.
//
// Compatible: a field added, removed, or renamed; a singular field made
// repeated; a type widened without changing what the bytes mean (int32 ->
// int64, uint32 -> uint64 or int64, sint32 -> sint64, bool -> any of those,
// an enum <-> int32/int64, string -> bytes); nested messages by the same
// rules. Refused, naming the field: any other type change (a field number
// reused with another type among them), repeated made singular (all but one
// element would be dropped), a field made required or a required field added
// (stored state without it would not parse).
#pragma once

#include <string>

#include "troupe/status.hpp"

namespace google::protobuf {
class Descriptor;
}

namespace troupe::persistence {

/// A message type as stored: its full name and a serialized
/// google.protobuf.FileDescriptorSet with its file and every file it imports.
struct state_schema {
  std::string type_name;
  std::string descriptors;
};

/// ok when state written as `stored` reads correctly as `next`;
/// failed_precondition with one line naming the first offending field
/// otherwise; invalid_argument when either schema does not parse or lacks
/// its type.
status check_schema_compatible(const state_schema& stored, const state_schema& next);

/// The schema of a compiled-in message type (what namespace_options'
/// state_type and state_descriptors hold).
state_schema schema_of(const google::protobuf::Descriptor& type);

} // namespace troupe::persistence
