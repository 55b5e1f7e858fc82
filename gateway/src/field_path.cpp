#include "field_path.hpp"

#include <google/protobuf/descriptor.h>

namespace troupe::gateway {

namespace pb = google::protobuf;

namespace {

const pb::FieldDescriptor* find_field(const pb::Descriptor& type, std::string_view name,
                                      bool accept_json_names) {
  if (auto* field = type.FindFieldByName(std::string{name}))
    return field;
  if (accept_json_names)
    for (int i = 0; i < type.field_count(); ++i)
      if (type.field(i)->json_name() == name)
        return type.field(i);
  return nullptr;
}

} // namespace

expected<std::vector<const pb::FieldDescriptor*>, std::string>
resolve_field_path(const pb::Descriptor& type, std::string_view path,
                   bool accept_json_names) {
  std::vector<const pb::FieldDescriptor*> fields;
  const pb::Descriptor* current = &type;
  while (true) {
    auto dot = path.find('.');
    auto name = path.substr(0, dot);
    if (current == nullptr)
      return unexpected(std::string{"'"} + fields.back()->name()
                        + "' is not a message field, so it has no field '"
                        + std::string{name} + "'");
    auto* field = find_field(*current, name, accept_json_names);
    if (field == nullptr)
      return unexpected("no field '" + std::string{name} + "' in " + current->full_name());
    fields.push_back(field);
    if (dot == std::string_view::npos)
      return fields;
    path.remove_prefix(dot + 1);
    current = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE
                  && !field->is_repeated()
                ? field->message_type()
                : nullptr;
  }
}

bool is_singular_scalar(const pb::FieldDescriptor& field) noexcept {
  return !field.is_repeated() && field.cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE;
}

} // namespace troupe::gateway
