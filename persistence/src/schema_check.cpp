#include "troupe/persistence/schema_check.hpp"

#include <set>
#include <string_view>
#include <utility>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>

#include "troupe/runtime/state_schema.hpp"

namespace troupe::persistence {

namespace {

namespace pb = google::protobuf;
using field = pb::FieldDescriptor;

/// Keeps the first error of building a file instead of logging it.
class first_error : public pb::DescriptorPool::ErrorCollector {
public:
  void AddError(const std::string& filename, const std::string& element, const pb::Message*,
                ErrorLocation, const std::string& message) override {
    if (text.empty())
      text = filename + ": " + element + ": " + message;
  }
  std::string text;
};

/// One schema's types, built from its descriptor set.
class loaded_schema {
public:
  status load(const state_schema& schema, std::string_view which) {
    pb::FileDescriptorSet set;
    if (!set.ParseFromString(schema.descriptors))
      return invalid(which, "its descriptors are not a FileDescriptorSet");
    for (const auto& file : set.file()) {
      if (!database_.Add(file))
        return invalid(which, "file " + file.name() + " appears twice");
    }
    type_ = pool_.FindMessageTypeByName(schema.type_name);
    if (type_ == nullptr) {
      if (!errors_.text.empty())
        return invalid(which, "its descriptors do not build (" + errors_.text + ")");
      return invalid(which, "it has no message type " + schema.type_name);
    }
    return {};
  }

  const pb::Descriptor& type() const {
    return *type_;
  }

private:
  static status invalid(std::string_view which, const std::string& why) {
    return {status_code::invalid_argument,
            "the " + std::string{which} + " state schema cannot be read: " + why};
  }

  // The pool reads the database: declared (so built) first.
  pb::SimpleDescriptorDatabase database_;
  first_error errors_;
  pb::DescriptorPool pool_{&database_, &errors_};
  const pb::Descriptor* type_ = nullptr;
};

bool closed_enum(const field& f) {
  return f.type() == field::TYPE_ENUM
         && f.enum_type()->file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO2;
}

/// Whether every value stored as `from` reads back as the same value as `to`.
bool reads_as(const field& from, const field& to) {
  auto a = from.type();
  auto b = to.type();
  if (a == b)
    return true;
  switch (a) {
    case field::TYPE_INT32:
      // A closed (proto2) enum drops the values it does not declare.
      return b == field::TYPE_INT64 || (b == field::TYPE_ENUM && !closed_enum(to));
    case field::TYPE_UINT32:
      return b == field::TYPE_UINT64 || b == field::TYPE_INT64;
    case field::TYPE_SINT32:
      return b == field::TYPE_SINT64;
    case field::TYPE_BOOL:
      return b == field::TYPE_INT32 || b == field::TYPE_INT64 || b == field::TYPE_UINT32
             || b == field::TYPE_UINT64;
    case field::TYPE_ENUM:
      return b == field::TYPE_INT32 || b == field::TYPE_INT64;
    case field::TYPE_STRING:
      return b == field::TYPE_BYTES;
    default:
      return false;
  }
}

std::string type_name(const field& f) {
  switch (f.type()) {
    case field::TYPE_MESSAGE:
    case field::TYPE_GROUP:
      return f.message_type()->full_name();
    case field::TYPE_ENUM:
      return "enum " + f.enum_type()->full_name();
    default:
      return f.type_name();
  }
}

class comparison {
public:
  explicit comparison(std::string stored_type) : stored_type_(std::move(stored_type)) {
  }

  status compare(const pb::Descriptor& stored, const pb::Descriptor& next,
                 const std::string& path) {
    if (!seen_.emplace(&stored, &next).second)
      return {};
    for (int i = 0; i < next.field_count(); ++i) {
      const auto& now = *next.field(i);
      const auto* was = stored.FindFieldByNumber(now.number());
      if (now.is_required() && was == nullptr)
        return refuse(path, now, "is required and new: stored state lacks it");
      if (now.is_required() && !was->is_required())
        return refuse(path, now, "became required: stored state may lack it");
    }
    for (int i = 0; i < stored.field_count(); ++i) {
      const auto& was = *stored.field(i);
      const auto* now = next.FindFieldByNumber(was.number());
      if (now == nullptr)
        continue;  // removed: a stored value becomes an unknown field
      if (was.is_repeated() && !now->is_repeated())
        return refuse(path, *now, "was repeated and is now singular: all but one stored "
                                  "element would be lost");
      if (!reads_as(was, *now))
        return refuse(path, *now, "changed type from " + type_name(was) + " to "
                                    + type_name(*now));
      if (was.type() == now->type()
          && (was.type() == field::TYPE_MESSAGE || was.type() == field::TYPE_GROUP)) {
        if (auto st = compare(*was.message_type(), *now->message_type(),
                              path + "." + now->name());
            !st)
          return st;
      }
    }
    return {};
  }

private:
  status refuse(const std::string& path, const field& f, const std::string& why) const {
    return {status_code::failed_precondition,
            "state field " + path + "." + f.name() + " (number " + std::to_string(f.number())
              + ") " + why + "; state stored as " + stored_type_ + " cannot be read"};
  }

  std::string stored_type_;
  std::set<std::pair<const pb::Descriptor*, const pb::Descriptor*>> seen_;
};

} // namespace

status check_schema_compatible(const state_schema& stored, const state_schema& next) {
  loaded_schema before;
  if (auto st = before.load(stored, "stored"); !st)
    return st;
  loaded_schema after;
  if (auto st = after.load(next, "new"); !st)
    return st;
  comparison cmp{stored.type_name};
  return cmp.compare(before.type(), after.type(), after.type().name());
}

state_schema schema_of(const google::protobuf::Descriptor& type) {
  runtime::namespace_options described;
  runtime::describe_state(type, described);
  return {std::move(described.state_type), std::move(described.state_descriptors)};
}

} // namespace troupe::persistence
