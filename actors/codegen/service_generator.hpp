// Writes the C++ for one proto service: the base class the module author
// derives from (one pure virtual handler per rpc plus the dispatch that
// decodes a call and runs its handler) and a client for calling the service
// from other handlers. Expects a service that passed validate_services().
#pragma once

namespace google::protobuf {
class ServiceDescriptor;
namespace io {
class Printer;
} // namespace io
} // namespace google::protobuf

namespace troupe::codegen {

/// Declarations of FooBase and FooClient, for <base>.troupe.h.
void print_service_declarations(const google::protobuf::ServiceDescriptor* service,
                                google::protobuf::io::Printer& out);

/// Their definitions, for <base>.troupe.cc.
void print_service_definitions(const google::protobuf::ServiceDescriptor* service,
                               google::protobuf::io::Printer& out);

} // namespace troupe::codegen
