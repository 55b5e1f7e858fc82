// protoc-gen-troupe: run by protoc as
//   protoc --plugin=protoc-gen-troupe=PATH --troupe_out=DIR --cpp_out=DIR ...
// See actors/README.md for what it generates.
#include <google/protobuf/compiler/plugin.h>

#include "troupe_generator.hpp"

int main(int argc, char* argv[]) {
  troupe::codegen::troupe_generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
