// The reflection JSON printer against protobuf's own converter: for every
// kind of field and value, print_json must write the bytes that
// util::MessageToJsonString writes with the gateway's options (the same
// converter, BinaryToJsonString, that transcoder::reply_json calls).
//
// The test types are built at run time from FileDescriptorProtos, so they
// need no protoc step.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>

#include "gateway/src/json_printer.hpp"
#include "gateway_test.pb.h"
#include "gateway/src/transcoder.hpp"

using namespace troupe::gateway;
namespace pb = google::protobuf;
using field_proto = pb::FieldDescriptorProto;

namespace {

struct scalar_kind {
  const char* name;
  field_proto::Type type;
};

constexpr scalar_kind scalar_kinds[] = {
  {"double", field_proto::TYPE_DOUBLE},     {"float", field_proto::TYPE_FLOAT},
  {"int32", field_proto::TYPE_INT32},       {"int64", field_proto::TYPE_INT64},
  {"uint32", field_proto::TYPE_UINT32},     {"uint64", field_proto::TYPE_UINT64},
  {"sint32", field_proto::TYPE_SINT32},     {"sint64", field_proto::TYPE_SINT64},
  {"fixed32", field_proto::TYPE_FIXED32},   {"fixed64", field_proto::TYPE_FIXED64},
  {"sfixed32", field_proto::TYPE_SFIXED32}, {"sfixed64", field_proto::TYPE_SFIXED64},
  {"bool", field_proto::TYPE_BOOL},         {"string", field_proto::TYPE_STRING},
  {"bytes", field_proto::TYPE_BYTES},
};

constexpr std::string_view package = "troupe.json_test";

// The types written out; Scalars, Repeated and Maps get a field of every
// scalar kind from add_kind_fields(). Field numbers are deliberately out of
// declaration order: protobuf prints in declaration order, except for oneof
// members (see Oneofs).
constexpr const char* test_file = R"pb(
  name: "troupe/json_test.proto"
  package: "troupe.json_test"
  syntax: "proto3"
  enum_type {
    name: "Color"
    options { allow_alias: true }
    value { name: "COLOR_UNSPECIFIED" number: 0 }
    value { name: "RED" number: 1 }
    value { name: "CRIMSON" number: 1 }
    value { name: "GREEN" number: 2 }
    value { name: "MINUS_ONE" number: -1 }
  }
  message_type {
    name: "Inner"
    field { name: "label" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "count" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
  }
  message_type {
    name: "Scalars"
    field { name: "z_first_by_declaration" number: 100 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "custom" number: 101 label: LABEL_OPTIONAL type: TYPE_INT32
            json_name: "renamed<&>" }
    field { name: "color" number: 102 label: LABEL_OPTIONAL type: TYPE_ENUM
            type_name: ".troupe.json_test.Color" }
    field { name: "inner" number: 103 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Inner" }
    field { name: "field_with__double_underscore_2x" number: 104 label: LABEL_OPTIONAL
            type: TYPE_BOOL }
  }
  message_type {
    name: "Repeated"
    field { name: "colors" number: 100 label: LABEL_REPEATED type: TYPE_ENUM
            type_name: ".troupe.json_test.Color" }
    field { name: "inners" number: 101 label: LABEL_REPEATED type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Inner" }
  }
  message_type { name: "Maps" }
  message_type {
    name: "Oneofs"
    field { name: "opt_string" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING
            oneof_index: 2 proto3_optional: true }
    field { name: "plain" number: 5 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "choice_string" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING oneof_index: 0 }
    field { name: "choice_inner" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Inner" oneof_index: 0 }
    field { name: "choice_int64" number: 9 label: LABEL_OPTIONAL type: TYPE_INT64 oneof_index: 0 }
    field { name: "choice_color" number: 10 label: LABEL_OPTIONAL type: TYPE_ENUM
            type_name: ".troupe.json_test.Color" oneof_index: 0 }
    field { name: "choice_bytes" number: 11 label: LABEL_OPTIONAL type: TYPE_BYTES oneof_index: 0 }
    field { name: "opt_int32" number: 4 label: LABEL_OPTIONAL type: TYPE_INT32
            oneof_index: 3 proto3_optional: true }
    field { name: "opt_inner" number: 6 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Inner" oneof_index: 4 proto3_optional: true }
    field { name: "other_double" number: 8 label: LABEL_OPTIONAL type: TYPE_DOUBLE oneof_index: 1 }
    field { name: "other_bool" number: 12 label: LABEL_OPTIONAL type: TYPE_BOOL oneof_index: 1 }
    field { name: "opt_color" number: 13 label: LABEL_OPTIONAL type: TYPE_ENUM
            type_name: ".troupe.json_test.Color" oneof_index: 5 proto3_optional: true }
    field { name: "last" number: 7 label: LABEL_OPTIONAL type: TYPE_INT32 }
    oneof_decl { name: "choice" }
    oneof_decl { name: "other" }
    oneof_decl { name: "_opt_string" }
    oneof_decl { name: "_opt_int32" }
    oneof_decl { name: "_opt_inner" }
    oneof_decl { name: "_opt_color" }
  }
  message_type {
    name: "Node"
    field { name: "value" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "child" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Node" }
    field { name: "children" number: 3 label: LABEL_REPEATED type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Node" }
  }
  message_type {
    name: "Outer"
    field { name: "scalars" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Scalars" }
    field { name: "repeated" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Repeated" }
    field { name: "maps" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Maps" }
    field { name: "oneofs" number: 4 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Oneofs" }
    field { name: "more_oneofs" number: 5 label: LABEL_REPEATED type: TYPE_MESSAGE
            type_name: ".troupe.json_test.Oneofs" }
  }
)pb";

field_proto& add_field(pb::DescriptorProto& message, const std::string& name, int number,
                       field_proto::Label label, field_proto::Type type,
                       const std::string& type_name = {}) {
  auto& field = *message.add_field();
  field.set_name(name);
  field.set_number(number);
  field.set_label(label);
  field.set_type(type);
  if (!type_name.empty())
    field.set_type_name(type_name);
  return field;
}

void add_map_field(pb::DescriptorProto& message, const std::string& name, int number,
                   field_proto::Type key, field_proto::Type value,
                   const std::string& value_type_name = {}) {
  std::string entry_name = name + "_entry";
  entry_name[0] = static_cast<char>(std::toupper(entry_name[0]));
  for (auto at = entry_name.find('_'); at != std::string::npos; at = entry_name.find('_'))
    entry_name.replace(at, 2, 1, static_cast<char>(std::toupper(entry_name[at + 1])));
  auto& entry = *message.add_nested_type();
  entry.set_name(entry_name);
  entry.mutable_options()->set_map_entry(true);
  add_field(entry, "key", 1, field_proto::LABEL_OPTIONAL, key);
  add_field(entry, "value", 2, field_proto::LABEL_OPTIONAL, value, value_type_name);
  add_field(message, name, number, field_proto::LABEL_REPEATED, field_proto::TYPE_MESSAGE,
            "." + std::string{package} + "." + message.name() + "." + entry_name);
}

pb::DescriptorProto& message_proto(pb::FileDescriptorProto& file, std::string_view name) {
  for (auto& message : *file.mutable_message_type())
    if (message.name() == name)
      return message;
  throw std::invalid_argument("test_file has no message " + std::string{name});
}

void add_kind_fields(pb::FileDescriptorProto& file) {
  auto& scalars = message_proto(file, "Scalars");
  auto& repeated = message_proto(file, "Repeated");
  auto& maps = message_proto(file, "Maps");
  // Numbers descending, so that declaration order and number order differ.
  int number = 99;
  for (const auto& kind : scalar_kinds) {
    add_field(scalars, std::string{"s_"} + kind.name, number, field_proto::LABEL_OPTIONAL,
              kind.type);
    add_field(repeated, std::string{"r_"} + kind.name, number, field_proto::LABEL_REPEATED,
              kind.type);
    if (kind.type != field_proto::TYPE_DOUBLE && kind.type != field_proto::TYPE_FLOAT &&
        kind.type != field_proto::TYPE_BYTES)
      add_map_field(maps, std::string{"by_"} + kind.name, number, kind.type,
                    field_proto::TYPE_INT32);
    add_map_field(maps, std::string{"to_"} + kind.name, number - 50, field_proto::TYPE_STRING,
                  kind.type);
    --number;
  }
  const std::string prefix = "." + std::string{package} + ".";
  add_map_field(maps, "to_color", 1, field_proto::TYPE_INT64, field_proto::TYPE_ENUM,
                prefix + "Color");
  add_map_field(maps, "to_inner", 2, field_proto::TYPE_BOOL, field_proto::TYPE_MESSAGE,
                prefix + "Inner");
}

/// A DescriptorPool over the generated one (so that files may import
/// google/protobuf/*.proto) and messages of its types.
class type_pool {
public:
  type_pool() {
    // Loads the well-known types into the generated pool.
    (void)pb::Any::descriptor();
    (void)pb::Duration::descriptor();
    (void)pb::Empty::descriptor();
    (void)pb::FieldMask::descriptor();
    (void)pb::Struct::descriptor();
    (void)pb::Timestamp::descriptor();
    (void)pb::Int32Value::descriptor();
  }

  const pb::FileDescriptor& build(const pb::FileDescriptorProto& file) {
    const auto* built = pool_.BuildFile(file);
    REQUIRE(built != nullptr);
    return *built;
  }

  const pb::FileDescriptor& build(const char* text) {
    pb::FileDescriptorProto file;
    REQUIRE(pb::TextFormat::ParseFromString(text, &file));
    return build(file);
  }

  const pb::Descriptor& type(std::string_view name) const {
    const auto* found = pool_.FindMessageTypeByName(std::string{name});
    REQUIRE(found != nullptr);
    return *found;
  }

  std::unique_ptr<pb::Message> make(const pb::Descriptor& type) {
    return std::unique_ptr<pb::Message>(factory_.GetPrototype(&type)->New());
  }

private:
  pb::DescriptorPool pool_{pb::DescriptorPool::generated_pool()};
  pb::DynamicMessageFactory factory_{&pool_};
};

/// The test types of test_file, built once.
class test_types {
public:
  static test_types& get() {
    static test_types types;
    return types;
  }

  const pb::Descriptor& type(std::string_view name) const {
    return pool_.type(std::string{package} + "." + std::string{name});
  }

  std::unique_ptr<pb::Message> make(std::string_view name) {
    return pool_.make(type(name));
  }

private:
  test_types() {
    pb::FileDescriptorProto file;
    if (!pb::TextFormat::ParseFromString(test_file, &file))
      throw std::runtime_error("test_file does not parse");
    add_kind_fields(file);
    pool_.build(file);
  }

  type_pool pool_;
};

pb::util::JsonPrintOptions gateway_options() {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  options.add_whitespace = false;
  options.always_print_enums_as_ints = false;
  return options;
}

std::string protobuf_json(const pb::Message& message) {
  std::string json;
  auto status = pb::util::MessageToJsonString(message, &json, gateway_options());
  INFO(status.ToString());
  REQUIRE(status.ok());
  return json;
}

std::string printed_json(const pb::Message& message) {
  std::string json;
  REQUIRE(print_json(message, json));
  return json;
}

/// The check every differential test makes: the same bytes as protobuf.
void check_same_json(const pb::Message& message) {
  const auto ours = printed_json(message);
  const auto theirs = protobuf_json(message);
  const auto [differ, _] = std::mismatch(ours.begin(), ours.end(), theirs.begin(), theirs.end());
  const auto at = static_cast<std::size_t>(differ - ours.begin());
  const auto from = at < 40 ? 0 : at - 40;
  INFO("message: " << message.ShortDebugString());
  INFO("first difference at byte " << at << ": ..." << ours.substr(from, 80) << "\n  vs ..."
                                   << theirs.substr(from, 80));
  CHECK(ours == theirs);
}

/// Reads `json` back into a new message of `prototype`'s type.
std::unique_ptr<pb::Message> parsed(const pb::Message& prototype, const std::string& json) {
  std::unique_ptr<pb::Message> message(prototype.New());
  auto status = pb::util::JsonStringToMessage(json, message.get());
  INFO(json << ": " << status.ToString());
  REQUIRE(status.ok());
  return message;
}

/// The field of `message` named `name`.
const pb::FieldDescriptor& field_of(const pb::Message& message, std::string_view name) {
  const auto* field = message.GetDescriptor()->FindFieldByName(std::string{name});
  REQUIRE(field != nullptr);
  return *field;
}

/// Swallows protobuf's log lines (invalid UTF-8 in a string field when
/// serializing) while a test means to make them.
class quiet_protobuf_log {
public:
  quiet_protobuf_log() : previous_(pb::SetLogHandler(nullptr)) {
  }
  ~quiet_protobuf_log() {
    pb::SetLogHandler(previous_);
  }

private:
  pb::LogHandler* previous_;
};

/// Random values for fields of every kind, from a seeded engine: extreme
/// values often, since that is where printers differ.
class random_values {
public:
  /// `malformed_text`: strings may hold malformed UTF-8 (which a proto3
  /// string should not, and which reads back from no JSON).
  explicit random_values(std::uint64_t seed, bool malformed_text = true)
    : engine_(seed), malformed_text_(malformed_text) {
  }

  int below(int n) {
    return static_cast<int>(engine_() % static_cast<std::uint64_t>(n));
  }

  template <class Integer>
  Integer integer() {
    using limits = std::numeric_limits<Integer>;
    switch (below(6)) {
    case 0: return 0;
    case 1: return limits::min();
    case 2: return limits::max();
    case 3: return static_cast<Integer>(below(21) - 10);
    default: return static_cast<Integer>(engine_());
    }
  }

  double real_double() {
    static constexpr double specials[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3, 1e15, 1e16, 1e-5,
                                          1e-4, 123456789.125, 1e300, 5e-324,
                                          2.2250738585072014e-308,
                                          std::numeric_limits<double>::max(),
                                          std::numeric_limits<double>::lowest(),
                                          std::numeric_limits<double>::infinity(),
                                          -std::numeric_limits<double>::infinity(),
                                          std::numeric_limits<double>::quiet_NaN()};
    if (below(2) == 0)
      return specials[below(std::size(specials))];
    std::uint64_t bits = engine_();
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }

  float real_float() {
    static constexpr float specials[] = {0.0f, -0.0f, 0.1f, 1.0f / 3, 1e-45f, 1e-40f, 1e6f, 1e7f,
                                         3.4028235e38f, 1.17549435e-38f, 16777217.0f,
                                         std::numeric_limits<float>::infinity(),
                                         -std::numeric_limits<float>::infinity(),
                                         std::numeric_limits<float>::quiet_NaN()};
    if (below(2) == 0)
      return specials[below(std::size(specials))];
    auto bits = static_cast<std::uint32_t>(engine_());
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }

  /// Text that protobuf escapes in every way it does, valid UTF-8 or not.
  std::string text() {
    static const std::string pieces[] = {
      "", "a", "plain ascii", "\"", "\\", "/", "<", ">", "&", "'", "\x7f", std::string(1, '\0'),
      "\x01", "\b", "\t", "\n", "\f", "\r", "\x1f", "\xc2\x80", "\xc2\x9f", "\xc2\xa0",
      "\xc2\xad", "\xc3\xa9", "\xd8\x80", "\xd8\x83", "\xd8\x84", "\xdb\x9d", "\xdc\x8f",
      "\xe1\x9e\xb4", "\xe1\x9e\xb5", "\xe2\x80\x8b", "\xe2\x80\x8f", "\xe2\x80\xa8",
      "\xe2\x80\xae", "\xe2\x80\xaf", "\xe2\x81\xa0", "\xe2\x81\xa4", "\xe2\x81\xaa",
      "\xe2\x81\xaf", "\xe2\x82\xac", "\xef\xbb\xbf", "\xef\xbf\xb9", "\xef\xbf\xbb",
      "\xef\xbf\xbd", "\xf0\x9f\x98\x80", "\xf0\x9d\x85\xb3", "\xf0\x9d\x85\xba",
      "\xf0\x9d\x85\xbb", "\xf3\xa0\x80\x81", "\xf3\xa0\x80\xa0", "\xf3\xa0\x81\xbf",
      "\xf4\x8f\xbf\xbf", "\xe6\x97\xa5\xe6\x9c\xac",
      // Malformed (the last 12): stray continuation, bad lead bytes, a sequence cut short
      // by ASCII or by the end, a surrogate, past U+10FFFF, overlong forms.
      "\x80", "\xbf", "\xf8", "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80",
      "\xf4\x90\x80\x80", "\xc0\x80", "\xc1\x81", "\xe0\x80\xaf"};
    const int choices = static_cast<int>(std::size(pieces)) - (malformed_text_ ? 0 : 12);
    std::string text;
    const int count = below(6);
    for (int i = 0; i < count; ++i) {
      if (malformed_text_ && below(8) == 0)
        text.push_back(static_cast<char>(engine_()));  // any byte
      else
        text += pieces[below(choices)];
    }
    return text;
  }

  std::string bytes() {
    std::string bytes(static_cast<std::size_t>(below(8)), '\0');
    for (auto& byte : bytes)
      byte = static_cast<char>(engine_());
    return bytes;
  }

  int enum_number() {
    static constexpr int numbers[] = {0, 1, 2, -1, 3, 17, -1000, std::numeric_limits<int>::max(),
                                      std::numeric_limits<int>::min()};
    return numbers[below(std::size(numbers))];
  }

  /// A random value for `field` (of `message`), set, or added when repeated.
  void set(pb::Message& message, const pb::FieldDescriptor& field) {
    const auto& r = *message.GetReflection();
    const bool add = field.is_repeated();
    switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      add ? r.AddInt32(&message, &field, integer<std::int32_t>())
          : r.SetInt32(&message, &field, integer<std::int32_t>());
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      add ? r.AddInt64(&message, &field, integer<std::int64_t>())
          : r.SetInt64(&message, &field, integer<std::int64_t>());
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      add ? r.AddUInt32(&message, &field, integer<std::uint32_t>())
          : r.SetUInt32(&message, &field, integer<std::uint32_t>());
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      add ? r.AddUInt64(&message, &field, integer<std::uint64_t>())
          : r.SetUInt64(&message, &field, integer<std::uint64_t>());
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      add ? r.AddDouble(&message, &field, real_double())
          : r.SetDouble(&message, &field, real_double());
      break;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      add ? r.AddFloat(&message, &field, real_float()) : r.SetFloat(&message, &field, real_float());
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      add ? r.AddBool(&message, &field, below(2) == 1) : r.SetBool(&message, &field, below(2) == 1);
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      add ? r.AddEnumValue(&message, &field, enum_number())
          : r.SetEnumValue(&message, &field, enum_number());
      break;
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      auto value = field.type() == pb::FieldDescriptor::TYPE_BYTES ? bytes() : text();
      add ? r.AddString(&message, &field, std::move(value))
          : r.SetString(&message, &field, std::move(value));
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      auto& inner = add ? *r.AddMessage(&message, &field) : *r.MutableMessage(&message, &field);
      fill(inner, 2);
      break;
    }
    }
  }

  /// Adds up to `count` entries with keys the map does not hold yet (by
  /// reflection a map field is a list of entries, duplicate keys and all).
  void add_entries(pb::Message& message, const pb::FieldDescriptor& map, int count) {
    const auto& r = *message.GetReflection();
    const auto& key = *map.message_type()->map_key();
    auto key_text = [&](const pb::Message& entry) {
      std::string text;
      pb::TextFormat::PrintFieldValueToString(entry, &key, -1, &text);
      return text;
    };
    std::set<std::string> keys;
    for (int i = 0; i < r.FieldSize(message, &map); ++i)
      keys.insert(key_text(r.GetRepeatedMessage(message, &map, i)));
    for (int e = 0; e < count; ++e) {
      auto& entry = *r.AddMessage(&message, &map);
      set(entry, key);
      if (!keys.insert(key_text(entry)).second) {
        r.RemoveLast(&message, &map);
        continue;
      }
      set(entry, *map.message_type()->map_value());
    }
  }

  /// Sets each field with probability 1/`sparsity` (repeated fields and
  /// maps: 0 to 3 elements).
  void fill(pb::Message& message, int sparsity) {
    const auto& type = *message.GetDescriptor();
    for (int i = 0; i < type.field_count(); ++i) {
      const auto& field = *type.field(i);
      if (below(sparsity) != 0)
        continue;
      if (field.is_map()) {
        add_entries(message, field, below(4));
      } else if (field.is_repeated()) {
        const int count = below(4);
        for (int e = 0; e < count; ++e)
          set(message, field);
      } else {
        set(message, field);
      }
    }
  }

private:
  std::mt19937_64 engine_;
  bool malformed_text_;
};

} // namespace

TEST_CASE("json printer: a message of defaults prints every primitive field", "[gateway][json]") {
  auto& types = test_types::get();
  for (const char* name : {"Inner", "Scalars", "Repeated", "Maps", "Oneofs", "Node", "Outer"}) {
    INFO(name);
    auto message = types.make(name);
    check_same_json(*message);
  }
  auto inner = types.make("Inner");
  CHECK(printed_json(*inner) == R"({"label":"","count":0})");
}

TEST_CASE("json printer: scalars of every kind and their extreme values", "[gateway][json]") {
  auto& types = test_types::get();
  auto message = types.make("Scalars");
  const auto& r = *message->GetReflection();

  auto field = [&](const char* name) { return &field_of(*message, name); };
  auto i32 = [&](const char* name, std::int32_t v) { r.SetInt32(message.get(), field(name), v); };
  auto i64 = [&](const char* name, std::int64_t v) { r.SetInt64(message.get(), field(name), v); };
  auto u32 = [&](const char* name, std::uint32_t v) { r.SetUInt32(message.get(), field(name), v); };
  auto u64 = [&](const char* name, std::uint64_t v) { r.SetUInt64(message.get(), field(name), v); };
  using i32_limits = std::numeric_limits<std::int32_t>;
  using i64_limits = std::numeric_limits<std::int64_t>;

  for (std::int32_t v : {i32_limits::min(), -1, 0, 1, i32_limits::max()}) {
    for (const char* name : {"s_int32", "s_sint32", "s_sfixed32"})
      i32(name, v);
    check_same_json(*message);
  }
  for (std::int64_t v : {i64_limits::min(), std::int64_t{-1}, std::int64_t{0},
                         std::int64_t{9007199254740993}, i64_limits::max()}) {
    for (const char* name : {"s_int64", "s_sint64", "s_sfixed64"})
      i64(name, v);
    check_same_json(*message);
  }
  for (std::uint32_t v : {0u, 1u, 4294967295u}) {
    for (const char* name : {"s_uint32", "s_fixed32"})
      u32(name, v);
    check_same_json(*message);
  }
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{18446744073709551615u}}) {
    for (const char* name : {"s_uint64", "s_fixed64"})
      u64(name, v);
    check_same_json(*message);
  }
  r.SetBool(message.get(), field("s_bool"), true);
  r.SetString(message.get(), field("s_string"), "h\xc3\xa9llo \"w\"\n");
  r.SetString(message.get(), field("s_bytes"), std::string("\0\xff\x10 ab", 6));
  r.SetInt32(message.get(), field("custom"), 7);
  r.SetBool(message.get(), field("field_with__double_underscore_2x"), true);
  check_same_json(*message);

  // 64-bit integers are strings, 32-bit ones numbers; the custom json_name
  // is escaped like any string.
  auto json = printed_json(*message);
  CHECK_THAT(json, Catch::Contains(R"("sUint64":"18446744073709551615")"));
  CHECK_THAT(json, Catch::Contains(R"("sUint32":4294967295)"));
  CHECK_THAT(json, Catch::Contains(R"("renamed\u003c&\u003e":7)"));
  CHECK_THAT(json, Catch::Contains(R"("sBytes":"AP8QIGFi")"));
}

TEST_CASE("json printer: floats and doubles as protobuf formats them", "[gateway][json]") {
  auto& types = test_types::get();
  auto message = types.make("Scalars");
  const auto& r = *message->GetReflection();
  const auto& d = field_of(*message, "s_double");
  const auto& f = field_of(*message, "s_float");

  // Not the shortest form: %.17g where %.15g does not read back.
  r.SetDouble(message.get(), &d, 1.0 / 3);
  r.SetFloat(message.get(), &f, 1.0f / 3);
  check_same_json(*message);
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("sDouble":0.33333333333333331)"));
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("sFloat":0.333333343)"));

  r.SetDouble(message.get(), &d, std::numeric_limits<double>::quiet_NaN());
  r.SetFloat(message.get(), &f, -std::numeric_limits<float>::infinity());
  check_same_json(*message);
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("sDouble":"NaN")"));
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("sFloat":"-Infinity")"));

  const double doubles[] = {0.0, -0.0, 0.1, 0.5, 1e-5, 1e-4, 1e14, 1e15, 1e16, 1e21, 123456.789,
                            1.7976931348623157e308, 2.2250738585072014e-308, 5e-324, 1e-310,
                            -1.25e-7, 9007199254740993.0, std::numeric_limits<double>::infinity()};
  const float floats[] = {0.0f, -0.0f, 0.1f, 1e-5f, 1e6f, 1e7f, 16777217.0f, 3.4028235e38f,
                          1.17549435e-38f, 1e-45f, 1e-40f, 5.877472e-39f,
                          std::numeric_limits<float>::quiet_NaN()};
  for (double value : doubles) {
    r.SetDouble(message.get(), &d, value);
    check_same_json(*message);
  }
  for (float value : floats) {
    r.SetFloat(message.get(), &f, value);
    check_same_json(*message);
  }
  // A subnormal float always gets 9 digits: protobuf reads the 6 back with
  // strtof, which reports ERANGE for it, and takes that for a mismatch.
  r.SetFloat(message.get(), &f, 1e-45f);
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("sFloat":1.40129846e-45)"));
}

TEST_CASE("json printer: strings escaped as protobuf escapes them", "[gateway][json]") {
  auto& types = test_types::get();
  auto message = types.make("Scalars");
  const auto& field = field_of(*message, "s_string");
  auto printed_string = [&](const std::string& value) {
    message->GetReflection()->SetString(message.get(), &field, value);
    check_same_json(*message);
    auto json = printed_json(*message);
    auto start = json.find("\"sString\":") + 10;
    return json.substr(start, json.find(",\"sBytes\"") - start);
  };
  quiet_protobuf_log quiet;  // malformed UTF-8 below

  CHECK(printed_string("") == R"("")");
  CHECK(printed_string("\"\\/\b\f\n\r\t") == R"("\"\\/\b\f\n\r\t")");
  CHECK(printed_string(std::string("\0\x01\x1f\x7f", 4)) == R"("\u0000\u0001\u001f\u007f")");
  // For HTML: '<' and '>' (but not '&' or '\'').
  CHECK(printed_string("<a href='x'>&") == R"("\u003ca href='x'\u003e&")");
  // Non-ASCII passes as UTF-8, except C1 controls and invisible formatting
  // characters (soft hyphen, U+2028 line separator, BOM, ...), and those
  // beyond the BMP as a surrogate pair (U+E0001 language tag).
  CHECK(printed_string("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80") ==
        "\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"");
  CHECK(printed_string("\xc2\x85\xc2\xad\xe2\x80\xa8\xef\xbb\xbf") ==
        R"("\u0085\u00ad\u2028\ufeff")");
  CHECK(printed_string("\xf3\xa0\x80\x81") == R"("\udb40\udc01")");
  // Malformed UTF-8 is dropped, and with it the byte that broke a sequence.
  CHECK(printed_string("a\x80" "b\xc3" "cd\xed\xa0\x80" "e\xc3") == R"("abde")");
  CHECK(printed_string("\xc0\x80") == R"("\u0000")");  // an overlong NUL passes as NUL

  // Every escaped code point and its neighbours, one at a time.
  const std::uint32_t code_points[] = {
    0x1f,    0x20,    0x7e,    0x7f,    0x80,    0x9f,    0xa0,    0xac,    0xad,    0xae,
    0x5ff,   0x600,   0x603,   0x604,   0x6dc,   0x6dd,   0x6de,   0x70e,   0x70f,   0x710,
    0x17b3,  0x17b4,  0x17b5,  0x17b6,  0x200a,  0x200b,  0x200f,  0x2010,  0x2027,  0x2028,
    0x202e,  0x202f,  0x205f,  0x2060,  0x2064,  0x2065,  0x2069,  0x206a,  0x206f,  0x2070,
    0xd7ff,  0xe000,  0xfefe,  0xfeff,  0xff00,  0xfff8,  0xfff9,  0xfffb,  0xfffc,  0xffff,
    0x10000, 0x1d172, 0x1d173, 0x1d17a, 0x1d17b, 0xe0000, 0xe0001, 0xe0002, 0xe001f, 0xe0020,
    0xe007f, 0xe0080, 0x10ffff};
  for (std::uint32_t cp : code_points) {
    std::string utf8;
    if (cp < 0x80) {
      utf8 += static_cast<char>(cp);
    } else if (cp < 0x800) {
      utf8 += static_cast<char>(0xc0 | (cp >> 6));
      utf8 += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      utf8 += static_cast<char>(0xe0 | (cp >> 12));
      utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      utf8 += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      utf8 += static_cast<char>(0xf0 | (cp >> 18));
      utf8 += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      utf8 += static_cast<char>(0x80 | (cp & 0x3f));
    }
    INFO("U+" << std::hex << cp);
    printed_string("x" + utf8 + "y");
  }
}

TEST_CASE("json printer: enums by name and unknown numbers as numbers", "[gateway][json]") {
  auto& types = test_types::get();
  auto message = types.make("Scalars");
  const auto& color = field_of(*message, "color");
  const auto& r = *message->GetReflection();
  for (int number : {0, 1, 2, -1, 3, -7}) {
    r.SetEnumValue(message.get(), &color, number);
    check_same_json(*message);
  }
  // An alias prints as the first name of its number.
  r.SetEnumValue(message.get(), &color, 1);
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("color":"RED")"));
  r.SetEnumValue(message.get(), &color, 3);
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("color":3)"));

  auto repeated = types.make("Repeated");
  for (int number : {1, 42, 0, -1})
    repeated->GetReflection()->AddEnumValue(repeated.get(), &field_of(*repeated, "colors"), number);
  check_same_json(*repeated);
  CHECK_THAT(printed_json(*repeated),
             Catch::Contains(R"("colors":["RED",42,"COLOR_UNSPECIFIED","MINUS_ONE"])"));
}

TEST_CASE("json printer: nested messages set and unset", "[gateway][json]") {
  auto& types = test_types::get();
  auto outer = types.make("Outer");
  const auto& r = *outer->GetReflection();
  check_same_json(*outer);
  CHECK(printed_json(*outer) == R"({"moreOneofs":[]})");  // unset messages are left out

  // Set but empty: printed with all its defaults.
  auto& scalars = *r.MutableMessage(outer.get(), &field_of(*outer, "scalars"));
  check_same_json(*outer);
  scalars.GetReflection()->MutableMessage(&scalars, &field_of(scalars, "inner"));
  check_same_json(*outer);
  CHECK_THAT(printed_json(*outer), Catch::Contains(R"("inner":{"label":"","count":0})"));
  r.AddMessage(outer.get(), &field_of(*outer, "more_oneofs"));
  r.AddMessage(outer.get(), &field_of(*outer, "more_oneofs"));
  r.MutableMessage(outer.get(), &field_of(*outer, "maps"));
  check_same_json(*outer);
}

TEST_CASE("json printer: repeated fields of every kind", "[gateway][json]") {
  auto& types = test_types::get();
  auto message = types.make("Repeated");
  check_same_json(*message);  // all []
  quiet_protobuf_log quiet;    // random strings hold malformed UTF-8
  random_values values(7);
  const auto& type = *message->GetDescriptor();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < type.field_count(); ++i)
      values.set(*message, *type.field(i));
    check_same_json(*message);
  }
}

TEST_CASE("json printer: maps with every key kind", "[gateway][json]") {
  auto& types = test_types::get();
  auto message = types.make("Maps");
  check_same_json(*message);  // all {}
  CHECK_THAT(printed_json(*message), Catch::Contains(R"("byBool":{})"));

  const auto& type = *message->GetDescriptor();
  random_values values(11, false);
  for (int i = 0; i < type.field_count(); ++i) {
    const auto& field = *type.field(i);
    auto one = types.make("Maps");
    auto& entry = *one->GetReflection()->AddMessage(one.get(), &field);
    values.set(entry, *field.message_type()->map_key());
    values.set(entry, *field.message_type()->map_value());
    INFO(field.name());
    check_same_json(*one);
  }

  // Keys are strings: "true"/"false", decimal numbers, escaped text.
  auto keyed = types.make("Maps");
  auto add = [&](const char* map) -> pb::Message& {
    return *keyed->GetReflection()->AddMessage(keyed.get(), &field_of(*keyed, map));
  };
  auto& by_bool = add("by_bool");
  by_bool.GetReflection()->SetBool(&by_bool, &field_of(by_bool, "key"), true);
  auto& by_int64 = add("by_int64");
  by_int64.GetReflection()->SetInt64(&by_int64, &field_of(by_int64, "key"), -5);
  auto& by_string = add("by_string");
  by_string.GetReflection()->SetString(&by_string, &field_of(by_string, "key"), "<\"k\">");
  auto& by_empty = add("to_inner");  // a message value never set: printed with its defaults
  by_empty.GetReflection()->SetBool(&by_empty, &field_of(by_empty, "key"), false);
  check_same_json(*keyed);
  auto json = printed_json(*keyed);
  CHECK_THAT(json, Catch::Contains(R"("byBool":{"true":0})"));
  CHECK_THAT(json, Catch::Contains(R"("byInt64":{"-5":0})"));
  CHECK_THAT(json, Catch::Contains(R"("byString":{"\u003c\"k\"\u003e":0})"));
  CHECK_THAT(json, Catch::Contains(R"("toInner":{"false":{"label":"","count":0}})"));

  // Several entries: printed in the order the map holds them in, which is
  // the order protobuf serializes (and so prints) them in.
  auto many = types.make("Maps");
  for (const char* map : {"by_string", "by_uint64", "by_sint32", "to_inner"})
    values.add_entries(*many, field_of(*many, map), 40);
  check_same_json(*many);

  // A dynamic message parsed from bytes that repeat a key holds every entry
  // until its map is used as a map; protobuf then prints the key twice, and
  // so does print_json (and so did the gateway, printing the bytes).
  auto twice = types.make("Maps");
  for (int value : {1, 2}) {
    auto& entry = *twice->GetReflection()->AddMessage(twice.get(), &field_of(*twice, "by_int32"));
    entry.GetReflection()->SetInt32(&entry, &field_of(entry, "key"), 5);
    entry.GetReflection()->SetInt32(&entry, &field_of(entry, "value"), value);
  }
  check_same_json(*twice);
  CHECK_THAT(printed_json(*twice), Catch::Contains(R"("byInt32":{"5":1,"5":2})"));
}

TEST_CASE("json printer: oneofs and proto3 optional print only when set", "[gateway][json]") {
  auto& types = test_types::get();
  auto message = types.make("Oneofs");
  const auto& r = *message->GetReflection();
  CHECK(printed_json(*message) == R"({"plain":0,"last":0})");
  check_same_json(*message);

  // Set to their defaults they print, but after every other field, in
  // field-number order: protobuf's converter appends them as they come on
  // the wire. Message members keep their place in declaration order.
  r.SetInt32(message.get(), &field_of(*message, "opt_int32"), 0);
  r.SetString(message.get(), &field_of(*message, "opt_string"), "");
  r.SetEnumValue(message.get(), &field_of(*message, "opt_color"), 0);
  r.MutableMessage(message.get(), &field_of(*message, "opt_inner"));
  r.SetBool(message.get(), &field_of(*message, "other_bool"), false);
  r.SetInt64(message.get(), &field_of(*message, "choice_int64"), 0);
  CHECK(printed_json(*message) ==
        R"({"plain":0,"optInner":{"label":"","count":0},"last":0,"optString":"","optInt32":0,)"
        R"("choiceInt64":"0","otherBool":false,"optColor":"COLOR_UNSPECIFIED"})");
  check_same_json(*message);

  r.MutableMessage(message.get(), &field_of(*message, "choice_inner"));
  r.SetDouble(message.get(), &field_of(*message, "other_double"), 2.5);
  CHECK(printed_json(*message) ==
        R"({"plain":0,"choiceInner":{"label":"","count":0},"optInner":{"label":"","count":0},)"
        R"("last":0,"optString":"","optInt32":0,"otherDouble":2.5,)"
        R"("optColor":"COLOR_UNSPECIFIED"})");
  check_same_json(*message);

  for (const char* member : {"choice_string", "choice_color", "choice_bytes"}) {
    random_values values(3);
    values.set(*message, field_of(*message, member));
    check_same_json(*message);
  }
  r.ClearField(message.get(), &field_of(*message, "choice_bytes"));
  r.ClearField(message.get(), &field_of(*message, "opt_string"));
  check_same_json(*message);
}

TEST_CASE("json printer: random messages print as protobuf prints them", "[gateway][json]") {
  auto& types = test_types::get();
  quiet_protobuf_log quiet;  // random strings hold malformed UTF-8
  random_values values(20240611);
  for (int round = 0; round < 400; ++round) {
    auto message = types.make("Outer");
    values.fill(*message, 1 + round % 4);
    check_same_json(*message);
  }
}

TEST_CASE("json printer: outputs read back as the same message", "[gateway][json]") {
  // The byte comparisons above are the real check; this one says the bytes
  // mean the message printed, read back by protobuf's JSON parser.
  auto& types = test_types::get();
  random_values values(99, false);
  pb::util::DefaultFieldComparator nan_is_nan;
  nan_is_nan.set_treat_nan_as_equal(true);
  for (int round = 0; round < 200; ++round) {
    auto message = types.make("Outer");
    values.fill(*message, 2);
    auto ours = parsed(*message, printed_json(*message));
    auto theirs = parsed(*message, protobuf_json(*message));
    for (const auto* other : {theirs.get(), message.get()}) {
      std::string differences;
      pb::util::MessageDifferencer differencer;
      differencer.set_field_comparator(&nan_is_nan);
      // Both print -0.0 as -0, which protobuf's parser reads as 0: an unset
      // field in proto3. EQUIVALENT compares an unset field as its default.
      differencer.set_message_field_comparison(pb::util::MessageDifferencer::EQUIVALENT);
      differencer.ReportDifferencesToString(&differences);
      const bool same = differencer.Compare(*other, *ours);
      INFO("message: " << message->ShortDebugString() << "\ndifferences: " << differences);
      CHECK(same);
    }
  }
}

TEST_CASE("json printer: the gateway's generated reply types print as reply_json does",
          "[gateway][json]") {
  namespace test = troupe::gateway_test;
  transcoder codec;
  test::SearchRequest search;
  auto expect_same = [&](const pb::Message& message) {
    auto reply = codec.reply_json(*message.GetDescriptor(), message.SerializeAsString());
    REQUIRE(reply.has_value());
    CHECK(printed_json(message) == *reply);
  };
  expect_same(search);
  search.set_shelf("s");
  search.set_page_size(-3);
  search.add_tags(std::string{"x"});
  search.add_tags(std::string{"y"});
  search.set_shade(test::DARK);
  search.set_ratio(0.1);
  search.set_count(7);
  search.mutable_page()->set_token("t");
  search.set_blob(std::string{"\x01\x02\x03"});
  search.set_weight(1.5f);
  search.set_big(1ull << 63);
  search.add_numbers(1);
  expect_same(search);

  test::CounterValue value;
  value.set_value(42);
  expect_same(value);
  CHECK(printed_json(value) == R"({"value":"42","smallValue":0,"ownerName":""})");

  // Once the types are added, reply_json prints them by reflection, from the
  // object and from its bytes, and the bytes come out the same.
  auto converted = [&](const pb::Message& message) {
    auto reply = codec.reply_json(*message.GetDescriptor(), message.SerializeAsString());
    REQUIRE(reply.has_value());
    return *reply;
  };
  auto before_search = converted(search), before_value = converted(value);
  codec.add_reply_type(*search.GetDescriptor());
  codec.add_reply_type(*value.GetDescriptor());
  CHECK(converted(search) == before_search);
  CHECK(converted(value) == before_value);
  auto from_object = codec.reply_json(search);
  REQUIRE(from_object.has_value());
  CHECK(*from_object == before_search);
  // Bytes that do not parse as the type are a 500, as with the converter.
  auto garbage = codec.reply_json(*value.GetDescriptor(), std::string{"\xff\xff\xff"});
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().status == 500);
}

TEST_CASE("json printer: nesting deeper than protobuf allows fails", "[gateway][json]") {
  // protobuf's converter refuses messages nested more than 64 levels below
  // the one printed ("Message too deep"); a map entry is not a level.
  auto& types = test_types::get();
  auto chain = [&](int depth, bool through_list) {
    auto root = types.make("Node");
    pb::Message* node = root.get();
    for (int level = 0; level < depth; ++level) {
      const auto& r = *node->GetReflection();
      node = through_list && level % 2 == 0 ? r.AddMessage(node, &field_of(*node, "children"))
                                            : r.MutableMessage(node, &field_of(*node, "child"));
    }
    return root;
  };
  for (bool through_list : {false, true}) {
    INFO("through a list: " << through_list);
    auto deepest = chain(json_max_depth, through_list);
    check_same_json(*deepest);

    auto too_deep = chain(json_max_depth + 1, through_list);
    std::string json;
    CHECK_FALSE(print_json(*too_deep, json));
    std::string theirs;
    CHECK_FALSE(pb::util::MessageToJsonString(*too_deep, &theirs, gateway_options()).ok());
  }
  CHECK(json_max_depth == 64);

  // Far deeper: false, and no deeper a walk than the limit.
  auto very_deep = chain(1000, false);
  std::string json;
  CHECK_FALSE(print_json(*very_deep, json));
}

TEST_CASE("json printer: which types it prints", "[gateway][json]") {
  auto& types = test_types::get();
  for (const char* name : {"Inner", "Scalars", "Repeated", "Maps", "Oneofs", "Outer"})
    CHECK(json_printer_supports(types.type(name)));
  // A type that holds itself: the walk ends.
  CHECK(json_printer_supports(types.type("Node")));
  CHECK(json_printer_supports(*troupe::gateway_test::SearchRequest::descriptor()));

  type_pool pool;
  pool.build(R"pb(
    name: "troupe/json_test_wkt.proto"
    package: "troupe.json_test_wkt"
    syntax: "proto3"
    dependency: "google/protobuf/any.proto"
    dependency: "google/protobuf/duration.proto"
    dependency: "google/protobuf/empty.proto"
    dependency: "google/protobuf/field_mask.proto"
    dependency: "google/protobuf/struct.proto"
    dependency: "google/protobuf/timestamp.proto"
    dependency: "google/protobuf/wrappers.proto"
    message_type { name: "WithAny" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".google.protobuf.Any" } }
    message_type { name: "WithDuration" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" } }
    message_type { name: "WithEmpty" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".google.protobuf.Empty" } }
    message_type { name: "WithFieldMask" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".google.protobuf.FieldMask" } }
    message_type { name: "WithStruct" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".google.protobuf.Struct" } }
    message_type { name: "WithValueList" field { name: "f" number: 1 label: LABEL_REPEATED
      type: TYPE_MESSAGE type_name: ".google.protobuf.Value" } }
    message_type { name: "WithNullValue" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_ENUM type_name: ".google.protobuf.NullValue" } }
    message_type { name: "WithTimestamp" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" } }
    message_type { name: "WithWrapper" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".google.protobuf.Int32Value" } }
    # A cycle that reaches a Timestamp only through itself and a map.
    message_type {
      name: "Cycle"
      field { name: "again" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
              type_name: ".troupe.json_test_wkt.Cycle" }
      field { name: "by_name" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE
              type_name: ".troupe.json_test_wkt.Cycle.ByNameEntry" }
      nested_type {
        name: "ByNameEntry"
        options { map_entry: true }
        field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
        field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
                type_name: ".troupe.json_test_wkt.Leaf" }
      }
    }
    message_type {
      name: "Leaf"
      field { name: "up" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
              type_name: ".troupe.json_test_wkt.Cycle" }
      field { name: "when" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
              type_name: ".google.protobuf.Timestamp" }
    }
  )pb");
  for (const char* name : {"WithAny", "WithDuration", "WithEmpty", "WithFieldMask", "WithStruct",
                           "WithValueList", "WithNullValue", "WithTimestamp", "WithWrapper",
                           "Cycle", "Leaf"}) {
    INFO(name);
    CHECK_FALSE(json_printer_supports(pool.type(std::string{"troupe.json_test_wkt."} + name)));
  }
  CHECK_FALSE(json_printer_supports(*pb::Timestamp::descriptor()));
  CHECK_FALSE(json_printer_supports(*pb::Empty::descriptor()));

  // The transcoder keeps protobuf's converter for such a reply type, which
  // prints a Timestamp in RFC 3339, from the object as from its bytes.
  {
    transcoder codec;
    const auto& type = pool.type("troupe.json_test_wkt.WithTimestamp");
    codec.add_reply_type(type);
    auto reply = pool.make(type);
    auto* when = reply->GetReflection()->MutableMessage(reply.get(), type.FindFieldByName("f"));
    when->GetReflection()->SetInt64(when, when->GetDescriptor()->FindFieldByName("seconds"),
                                    1'700'000'000);
    auto from_object = codec.reply_json(*reply);
    REQUIRE(from_object.has_value());
    CHECK(*from_object == R"({"f":"2023-11-14T22:13:20Z"})");
    auto from_bytes = codec.reply_json(type, reply->SerializeAsString());
    REQUIRE(from_bytes.has_value());
    CHECK(*from_bytes == *from_object);
  }

  pool.build(R"pb(
    name: "troupe/json_test_proto2.proto"
    package: "troupe.json_test_proto2"
    syntax: "proto2"
    message_type { name: "Old" field { name: "f" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
                   extension_range { start: 100 end: 200 } }
    message_type { name: "Plain"
                   field { name: "f" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 } }
  )pb");
  pool.build(R"pb(
    name: "troupe/json_test_mixed.proto"
    package: "troupe.json_test_mixed"
    syntax: "proto3"
    dependency: "troupe/json_test_proto2.proto"
    message_type { name: "HoldsProto2" field { name: "f" number: 1 label: LABEL_OPTIONAL
      type: TYPE_MESSAGE type_name: ".troupe.json_test_proto2.Plain" } }
  )pb");
  CHECK_FALSE(json_printer_supports(pool.type("troupe.json_test_proto2.Old")));
  CHECK_FALSE(json_printer_supports(pool.type("troupe.json_test_proto2.Plain")));
  CHECK_FALSE(json_printer_supports(pool.type("troupe.json_test_mixed.HoldsProto2")));
}
