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

/// A serialized FileDescriptorSet of `type`'s file and its imports.
std::string descriptors_of(const pb::Descriptor& type) {
  pb::FileDescriptorSet set;
  std::set<const pb::FileDescriptor*> added;
  add_with_imports(*type.file(), added, set);
  return set.SerializeAsString();
}

} // namespace

void describe_state(const pb::Descriptor& type, namespace_options& options) {
  options.state_type = type.full_name();
  options.state_descriptors = descriptors_of(type);
}

void describe_events(const pb::Descriptor& type, namespace_options& options) {
  options.event_type = type.full_name();
  options.event_descriptors = descriptors_of(type);
}

} // namespace troupe::runtime
