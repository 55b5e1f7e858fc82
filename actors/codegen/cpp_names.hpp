// How protoc's C++ generator names things, for the parts the generated troupe
// code refers to: the namespace of a proto package and the class of a message.
// Kept to protobuf 3.21's rules (libprotoc does not export its own helpers).
#pragma once

#include <string>
#include <string_view>

namespace google::protobuf {
class Descriptor;
class FileDescriptor;
} // namespace google::protobuf

namespace troupe::codegen {

/// `word`, with "_" appended when it is a C++ keyword (as protoc does).
std::string resolve_keyword(std::string_view word);

/// "demo::counter::v1" for package demo.counter.v1; empty without a package.
/// Like protoc 3.21, components that are C++ keywords are kept as they are.
std::string cpp_namespace(const google::protobuf::FileDescriptor* file);

/// "::demo::counter::v1::AddRequest"; nested messages are Outer_Inner.
std::string qualified_class_name(const google::protobuf::Descriptor* message);

} // namespace troupe::codegen
