// protoc-gen-troupe's code generator: for each .proto file it checks the
// services and writes <base>.troupe.h and <base>.troupe.cc next to protoc's
// <base>.pb.h. A file without services still gets both (holding no classes),
// so that build rules can list the outputs of every .proto they compile.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/compiler/code_generator.h>

namespace troupe::codegen {

class troupe_generator : public google::protobuf::compiler::CodeGenerator {
public:
  bool Generate(const google::protobuf::FileDescriptor* file, const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;

  /// Like the default, but reports faults as "FILE:LINE:COLUMN: ..." (the
  /// default would write "FILE: ...").
  bool GenerateAll(const std::vector<const google::protobuf::FileDescriptor*>& files,
                   const std::string& parameter,
                   google::protobuf::compiler::GeneratorContext* context,
                   std::string* error) const override;

  std::uint64_t GetSupportedFeatures() const override {
    return FEATURE_PROTO3_OPTIONAL;
  }
};

} // namespace troupe::codegen
