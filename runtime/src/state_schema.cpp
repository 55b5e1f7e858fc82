#include "troupe/runtime/state_schema.hpp"

#include <set>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

namespace troupe::runtime {

namespace {

namespace pb = google::protobuf;

void add_with_imports(const pb::FileDescriptor& file, std::set<const pb::FileDescriptor*>& added,
                      pb::FileDescriptorSet& set) {
  if (!added.insert(&file).second)
    return;
  for (int i = 0; i < file.dependency_count(); ++i)
    add_with_imports(*file.dependency(i), added, set);
  file.CopyTo(set.add_file());
}

} // namespace

void describe_state(const pb::Descriptor& type, namespace_options& options) {
  pb::FileDescriptorSet set;
  std::set<const pb::FileDescriptor*> added;
  add_with_imports(*type.file(), added, set);
  options.state_type = type.full_name();
  options.state_descriptors = set.SerializeAsString();
}

} // namespace troupe::runtime
