// Checks a proto file's services against what Troupe supports before any code
// is generated, so that a mistake in a module's .proto stops its build with
// one line naming the service, the rpc and the fault, instead of surfacing
// later as a node that refuses the module or a route that never matches.
#pragma once

#include <string>

namespace google::protobuf {
class FileDescriptor;
} // namespace google::protobuf

namespace troupe::codegen {

/// Returns an empty string when every service of `file` is valid; otherwise
/// the first fault, prefixed with "LINE:COLUMN: " when the source position is
/// known.
std::string validate_services(const google::protobuf::FileDescriptor* file);

} // namespace troupe::codegen
