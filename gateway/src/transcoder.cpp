#include "transcoder.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <set>
#include <system_error>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/strutil.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include "field_path.hpp"
#include "json_printer.hpp"
#include "utf8.hpp"

namespace troupe::gateway {

namespace pb = google::protobuf;

namespace {

constexpr const char* type_url_prefix = "type.googleapis.com";

transcode_error bad_request(std::string detail) {
  return {400, std::move(detail)};
}

std::string quoted(std::string_view value) {
  return "\"" + printable_utf8(value, 64) + "\"";
}

bool is_blank(std::string_view text) noexcept {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::string_view first_line(std::string_view text) noexcept {
  return text.substr(0, text.find('\n'));
}

bool is_path_text(std::string_view text) noexcept {
  if (text.empty())
    return false;
  for (char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '.' || c == '[' || c == ']'))
      return false;
  return true;
}

std::string join_path(std::string_view a, std::string_view b) {
  if (a.empty())
    return std::string{b};
  if (b.empty())
    return std::string{a};
  return std::string{a} + "." + std::string{b};
}

/// Rewrites protobuf's JSON parse errors so that they name the field the
/// client got wrong. Protobuf 3.21 puts the location first:
///   "(page.size): invalid value "x" for type TYPE_INT32"
///   "(page) bogus: Cannot find field."      "bogus: Cannot find field."
///   "delta: Proto field is not repeating, cannot start list."
///   ": invalid value Starting an object on a scalar field for type delta"
///   ": Root element must be a message."
/// and words syntax errors without one, with a caret diagram after a newline.
std::string describe_json_error(std::string_view message, std::string_view prefix) {
  auto line = first_line(message);
  std::string_view parent, name, text;
  bool located = false;
  if (line.starts_with("(")) {
    auto close = line.find(')');
    if (close != std::string_view::npos) {
      parent = line.substr(1, close - 1);
      auto rest = line.substr(close + 1);
      if (rest.starts_with(": ")) {
        text = rest.substr(2), located = true;
      } else if (rest.starts_with(" ")) {
        auto colon = rest.find(": ");
        if (colon != std::string_view::npos && is_path_text(rest.substr(1, colon - 1)))
          name = rest.substr(1, colon - 1), text = rest.substr(colon + 2), located = true;
      }
    }
  } else if (line.starts_with(": ")) {
    text = line.substr(2), located = true;
  } else if (auto colon = line.find(": ");
             colon != std::string_view::npos && is_path_text(line.substr(0, colon))) {
    name = line.substr(0, colon), text = line.substr(colon + 2), located = true;
  }
  if (!located)
    return "malformed JSON body: " + printable_utf8(line, 300);

  std::string path = join_path(prefix, join_path(parent, name));
  constexpr std::string_view object_on_scalar =
    "invalid value Starting an object on a scalar field for type ";
  if (text.starts_with(object_on_scalar)) {
    path = join_path(path, text.substr(object_on_scalar.size()));
    text = "an object where a single value belongs";
  } else if (text == "Proto field is not repeating, cannot start list.") {
    text = "a list where a single value belongs";
  }
  if (text == "Cannot find field.")
    return "unknown field '" + printable_utf8(path, 200) + "'";
  if (text == "Root element must be a message.")
    return "malformed JSON body: the body must be a JSON object";
  if (path.empty())
    return "malformed JSON body: " + printable_utf8(text, 300);
  return "field '" + printable_utf8(path, 200) + "': " + printable_utf8(text, 300);
}

template <class T>
std::optional<T> parse_number(std::string_view text) noexcept {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end)
    return std::nullopt;
  return value;
}

/// Parses `text` into `field` of `message` (appending when repeated). The
/// error says what is wrong with the value, without naming the field.
std::optional<std::string> set_from_text(pb::Message& message, const pb::FieldDescriptor& field,
                                         std::string_view text) {
  const pb::Reflection& reflection = *message.GetReflection();
  bool repeated = field.is_repeated();
  auto invalid = [&](std::string_view expected_kind) {
    return std::optional<std::string>{"invalid value " + quoted(text) + ": expected "
                                      + std::string{expected_kind}};
  };
#define TROUPE_SET_NUMBER(TYPE, SETTER, KIND)                                   \
  {                                                                            \
    auto value = parse_number<TYPE>(text);                                     \
    if (!value)                                                                \
      return invalid(KIND);                                                    \
    repeated ? reflection.Add##SETTER(&message, &field, *value)               \
             : reflection.Set##SETTER(&message, &field, *value);              \
    return std::nullopt;                                                       \
  }
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      TROUPE_SET_NUMBER(std::int32_t, Int32, "a 32-bit integer")
    case pb::FieldDescriptor::CPPTYPE_INT64:
      TROUPE_SET_NUMBER(std::int64_t, Int64, "a 64-bit integer")
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      TROUPE_SET_NUMBER(std::uint32_t, UInt32, "an unsigned 32-bit integer")
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      TROUPE_SET_NUMBER(std::uint64_t, UInt64, "an unsigned 64-bit integer")
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      TROUPE_SET_NUMBER(double, Double, "a number")
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      TROUPE_SET_NUMBER(float, Float, "a number in the range of a float")
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      if (text != "true" && text != "false")
        return invalid("true or false");
      bool value = text == "true";
      repeated ? reflection.AddBool(&message, &field, value)
               : reflection.SetBool(&message, &field, value);
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      int number = 0;
      if (auto* named = field.enum_type()->FindValueByName(std::string{text})) {
        number = named->number();
      } else if (auto numeric = parse_number<std::int32_t>(text);
                 numeric && (field.enum_type()->FindValueByNumber(*numeric) != nullptr
                             || field.file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO3)) {
        // proto3 enums are open: unknown numbers are kept, as in JSON.
        number = *numeric;
      } else {
        return invalid("a value of " + field.enum_type()->full_name());
      }
      repeated ? reflection.AddEnumValue(&message, &field, number)
               : reflection.SetEnumValue(&message, &field, number);
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string value;
      if (field.type() == pb::FieldDescriptor::TYPE_BYTES) {
        // As in the JSON mapping: standard or URL-safe base64.
        if (!pb::Base64Unescape(pb::StringPiece{text.data(), text.size()}, &value)
            && !pb::WebSafeBase64Unescape(pb::StringPiece{text.data(), text.size()}, &value))
          return invalid("base64");
      } else {
        if (!is_valid_utf8(text))
          return std::optional<std::string>{"the value is not valid UTF-8"};
        value = std::string{text};
      }
      repeated ? reflection.AddString(&message, &field, std::move(value))
               : reflection.SetString(&message, &field, std::move(value));
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
#undef TROUPE_SET_NUMBER
  return std::optional<std::string>{"a message cannot be set from text"};
}

/// The value of singular scalar `field` of `message` as text, exact enough
/// to compare two values: numbers in their shortest round-trip form, enums
/// by name (by number when unnamed), strings and bytes as they are.
std::string value_text(const pb::Message& message, const pb::FieldDescriptor& field) {
  const pb::Reflection& reflection = *message.GetReflection();
  auto number = [](auto value) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return ec == std::errc{} ? std::string{buf, end} : std::string{};
  };
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: return number(reflection.GetInt32(message, &field));
    case pb::FieldDescriptor::CPPTYPE_INT64: return number(reflection.GetInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT32: return number(reflection.GetUInt32(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT64: return number(reflection.GetUInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return number(reflection.GetDouble(message, &field));
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return number(reflection.GetFloat(message, &field));
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return reflection.GetBool(message, &field) ? "true" : "false";
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      int value = reflection.GetEnumValue(message, &field);
      const auto* named = field.enum_type()->FindValueByNumber(value);
      return named != nullptr ? named->name() : number(value);
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: return reflection.GetString(message, &field);
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
  return {};
}

/// The message that holds the last field of `path`, created on the way.
pb::Message& holder_of(pb::Message& root,
                       const std::vector<const pb::FieldDescriptor*>& path) {
  pb::Message* current = &root;
  for (std::size_t i = 0; i + 1 < path.size(); ++i)
    current = current->GetReflection()->MutableMessage(current, path[i]);
  return *current;
}

std::string proto_path(const std::vector<const pb::FieldDescriptor*>& path) {
  std::string joined;
  for (const auto* field : path) {
    if (!joined.empty())
      joined += '.';
    joined += field->name();
  }
  return joined;
}

} // namespace

bool is_json_media_type(std::string_view content_type) noexcept {
  constexpr std::string_view json = "application/json";
  auto media = content_type.substr(0, content_type.find(';'));
  auto first = media.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return false;
  media.remove_prefix(first);
  media = media.substr(0, media.find_last_not_of(" \t") + 1);
  if (media.size() != json.size())
    return false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != json[i])
      return false;
  }
  return true;
}

transcoder::transcoder()
  : generated_types_(pb::util::NewTypeResolverForDescriptorPool(
    type_url_prefix, pb::DescriptorPool::generated_pool())) {
}

transcoder::~transcoder() = default;

expected<std::unique_ptr<pb::Message>, transcode_error>
transcoder::request_message(const pb::Descriptor& input, std::string_view body_rule,
                            const request_parts& parts) const {
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(&input);
  if (prototype == nullptr)
    return unexpected(transcode_error{500, "the request type is not available"});
  std::unique_ptr<pb::Message> message{prototype->New()};

  // 1. The body.
  if (!body_rule.empty() && !is_blank(parts.body)) {
    if (!parts.content_type.empty() && !is_json_media_type(parts.content_type))
      return unexpected(transcode_error{
        415, "the body must be application/json, not " + quoted(parts.content_type)});
    if (!is_valid_utf8(parts.body))
      return unexpected(bad_request("malformed JSON body: it is not valid UTF-8"));
    pb::Message* target = message.get();
    std::string prefix;
    if (body_rule != "*") {
      const pb::FieldDescriptor* field = input.FindFieldByName(std::string{body_rule});
      if (field == nullptr || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)
        return unexpected(transcode_error{500, "the route's body rule is invalid"});
      target = message->GetReflection()->MutableMessage(message.get(), field);
      prefix = field->json_name();
    }
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = pb::util::JsonStringToMessage(
      pb::StringPiece{parts.body.data(), parts.body.size()}, target, options);
    if (!status.ok())
      return unexpected(bad_request(describe_json_error(status.message().ToString(), prefix)));
  }

  // 2. Query parameters.
  std::set<std::string> seen;
  for (const auto& param : parts.query) {
    std::string name = "'" + printable_utf8(param.name, 100) + "'";
    if (body_rule == "*")
      return unexpected(bad_request("unknown query parameter " + name
                                    + ": this route takes the whole request from the body"));
    auto path = resolve_field_path(input, param.name, true);
    if (!path)
      return unexpected(bad_request("unknown query parameter " + name + ": "
                                    + printable_utf8(path.error(), 200)));
    const pb::FieldDescriptor& field = *path->back();
    if (field.cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE)
      return unexpected(bad_request("query parameter " + name
                                    + " names a message; set its fields one by one, "
                                      "as in "
                                    + printable_utf8(param.name, 100) + ".field=value"));
    if (!field.is_repeated() && !seen.insert(proto_path(*path)).second)
      return unexpected(bad_request("query parameter " + name + " is given more than once"));
    if (auto error = set_from_text(holder_of(*message, *path), field, param.value))
      return unexpected(bad_request("query parameter " + name + ": " + *error));
  }

  // 3. Path bindings, validated against the message when the route was added.
  for (const auto& [field_path, value] : parts.bindings) {
    auto path = resolve_field_path(input, field_path);
    if (!path)
      continue;  // {key} of a keyed service whose request has no field `key`
    pb::Message& holder = holder_of(*message, *path);
    const pb::FieldDescriptor& field = *path->back();
    // A value the body or the query gave already must be the path's.
    std::optional<std::string> given;
    if (holder.GetReflection()->HasField(holder, &field))
      given = value_text(holder, field);
    if (auto error = set_from_text(holder, field, value))
      return unexpected(bad_request("path parameter '" + field_path + "': " + *error));
    if (given && *given != value_text(holder, field)) {
      bool from_query = seen.contains(proto_path(*path));
      return unexpected(bad_request("field '" + field_path + "' is " + quoted(*given)
                                    + (from_query ? " in the query" : " in the body")
                                    + " but " + quoted(value) + " in the path"));
    }
  }
  return message;
}

void transcoder::add_reply_type(const pb::Descriptor& type) {
  if (json_printer_supports(type))
    printable_.insert(&type);
}

expected<std::string, transcode_error> transcoder::reply_json(const pb::Message& reply) const {
  if (!printable(*reply.GetDescriptor()))
    return reply_json(*reply.GetDescriptor(), reply.SerializeAsString());
  std::string json;
  if (!print_json(reply, json))
    return unexpected(transcode_error{500, "the service's reply could not be converted to JSON"});
  return json;
}

expected<std::string, transcode_error> transcoder::reply_json(const pb::Descriptor& output,
                                                               const std::string& payload) const {
  if (printable(output)) {
    // Parsing into the generated class and printing by reflection costs a
    // fraction of the converter's walk over the wire format.
    if (const auto* prototype = pb::MessageFactory::generated_factory()->GetPrototype(&output)) {
      std::unique_ptr<pb::Message> reply{prototype->New()};
      if (!reply->ParseFromString(payload))
        return unexpected(transcode_error{500, "the service's reply could not be decoded"});
      return reply_json(*reply);
    }
  }
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::unique_ptr<pb::util::TypeResolver> other_pool;
  pb::util::TypeResolver* resolver = generated_types_.get();
  if (output.file()->pool() != pb::DescriptorPool::generated_pool()) {
    other_pool.reset(pb::util::NewTypeResolverForDescriptorPool(type_url_prefix,
                                                                output.file()->pool()));
    resolver = other_pool.get();
  }
  // The payload was serialized from a message of this type by the runtime,
  // so it is converted straight from the wire format, without a parse.
  std::string json;
  auto status = pb::util::BinaryToJsonString(
    resolver, std::string{type_url_prefix} + "/" + output.full_name(), payload, &json, options);
  if (!status.ok())
    return unexpected(transcode_error{500, "the service's reply could not be converted to JSON"});
  return json;
}

} // namespace troupe::gateway
