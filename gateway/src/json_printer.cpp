#include "json_printer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/strutil.h>

namespace troupe::gateway {

namespace pb = google::protobuf;
using field_descriptor = pb::FieldDescriptor;

namespace {

// Strings, as protobuf's util/internal/json_escaping.cc escapes them.

constexpr char hex_digits[] = "0123456789abcdef";

void append_u_escape(std::uint32_t unit, std::string& out) {
  char escaped[6] = {'\\', 'u', hex_digits[(unit >> 12) & 0xf], hex_digits[(unit >> 8) & 0xf],
                     hex_digits[(unit >> 4) & 0xf], hex_digits[unit & 0xf]};
  out.append(escaped, sizeof escaped);
}

// ASCII that protobuf escapes: control characters, '"' and '\\' (JSON), '<'
// and '>' (so that a reply cannot close a <script> it is embedded in), DEL.
constexpr std::array<bool, 128> ascii_escaped = [] {
  std::array<bool, 128> escaped{};
  for (int c = 0; c < 0x20; ++c)
    escaped[c] = true;
  escaped['"'] = escaped['\\'] = escaped['<'] = escaped['>'] = escaped[0x7f] = true;
  return escaped;
}();

void append_ascii_escape(unsigned char c, std::string& out) {
  switch (c) {
  case '"': out.append("\\\""); return;
  case '\\': out.append("\\\\"); return;
  case '\b': out.append("\\b"); return;
  case '\t': out.append("\\t"); return;
  case '\n': out.append("\\n"); return;
  case '\f': out.append("\\f"); return;
  case '\r': out.append("\\r"); return;
  default: append_u_escape(c, out); return;
  }
}

// How protobuf escapes a code point above ASCII: C1 controls and invisible
// format characters that JavaScript or browsers treat specially as \uXXXX,
// those beyond the BMP as a UTF-16 surrogate pair; the rest go as they are.
enum class escape { none, bmp, pair };

escape escape_of(std::uint32_t cp) {
  if ((cp >= 0x80 && cp < 0xa0) || cp == 0xad || (cp >= 0x600 && cp <= 0x603) || cp == 0x6dd ||
      cp == 0x70f || cp == 0x17b4 || cp == 0x17b5 || (cp >= 0x200b && cp <= 0x200f) ||
      (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
      (cp >= 0x206a && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb))
    return escape::bmp;
  if (cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f))
    return escape::pair;
  return escape::none;
}

// Appends `text` escaped. Malformed UTF-8 is dropped as protobuf drops it:
// a byte that cannot start a sequence; a sequence up to and including the
// first byte that does not continue it (a valid character there goes too);
// a sequence cut short by the end; a surrogate or a code point past
// U+10FFFF. Overlong forms are taken for their code point: C0 80 prints as
// \u0000, C1 81 is copied as it is (protobuf checks no more than that).
void append_escaped(std::string_view text, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  const auto* copied_to = p;  // bytes from here to p are copied as they are
  while (p != end && *p < 0x80 && !ascii_escaped[*p])  // most text: no byte to look at twice
    ++p;
  auto copy_pending = [&](const unsigned char* upto) {
    out.append(reinterpret_cast<const char*>(copied_to), upto - copied_to);
  };
  while (p != end) {
    const unsigned char lead = *p;
    if (lead < 0x80) {
      if (ascii_escaped[lead]) {
        copy_pending(p);
        append_ascii_escape(lead, out);
        copied_to = p + 1;
      }
      ++p;
      continue;
    }
    const auto* const start = p++;
    std::uint32_t cp;
    int missing;
    if (lead < 0xc0 || lead > 0xf7) {
      copy_pending(start);
      copied_to = p;
      continue;
    }
    if (lead < 0xe0) {
      cp = lead & 0x1f;
      missing = 1;
    } else if (lead < 0xf0) {
      cp = lead & 0x0f;
      missing = 2;
    } else {
      cp = lead & 0x07;
      missing = 3;
    }
    bool malformed = false;
    while (missing > 0 && p != end) {
      const unsigned char next = *p++;
      --missing;
      cp = (cp << 6) | (next & 0x3f);
      if (next < 0x80 || next > 0xbf) {
        malformed = true;
        break;
      }
    }
    if (malformed || missing > 0 || (cp & 0xfffff800) == 0xd800 || cp > 0x10ffff) {
      copy_pending(start);
      copied_to = p;
      continue;
    }
    if (cp < 0x80) {  // an overlong form: escaped as its ASCII character is, else copied
      if (ascii_escaped[cp]) {
        copy_pending(start);
        copied_to = p;
        append_ascii_escape(static_cast<unsigned char>(cp), out);
      }
      continue;
    }
    const escape how = escape_of(cp);
    if (how == escape::none)
      continue;
    copy_pending(start);
    copied_to = p;
    if (how == escape::bmp) {
      append_u_escape(cp, out);
    } else {
      append_u_escape(0xd800 + ((cp - 0x10000) >> 10), out);
      append_u_escape(0xdc00 + (cp & 0x3ff), out);
    }
  }
  copy_pending(end);
}

void append_quoted(std::string_view text, std::string& out) {
  out.push_back('"');
  append_escaped(text, out);
  out.push_back('"');
}

template <class Integer>
void append_integer(Integer value, std::string& out) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

template <class Integer>
void append_quoted_integer(Integer value, std::string& out) {
  char quoted[24] = {'"'};
  auto result = std::to_chars(quoted + 1, quoted + sizeof quoted - 1, value);
  *result.ptr = '"';
  out.append(quoted, result.ptr + 1);
}

// NaN and the infinities are strings in the JSON mapping. Protobuf prints
// finite values with SimpleDtoa/SimpleFtoa: %.15g (%.6g for float), and
// %.17g (%.9g) when the shorter form does not read back as the same value,
// so 1.0/3 is 0.33333333333333331, not the shortest 0.3333333333333333.
template <class Float>
bool append_non_finite(Float value, std::string& out) {
  if (std::isnan(value))
    out.append("\"NaN\"");
  else if (std::isinf(value))
    out.append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  else
    return false;
  return true;
}

template <class Float>
bool reads_back(const char* begin, const char* end, Float value) {
  Float back;
  auto result = std::from_chars(begin, end, back);
  return result.ec == std::errc{} && back == value;
}

void append_double(double value, std::string& out) {
  if (append_non_finite(value, out))
    return;
  char digits[32];
  auto result =
    std::to_chars(digits, digits + sizeof digits, value, std::chars_format::general, 15);
  if (!reads_back(digits, result.ptr, value))
    result = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::general, 17);
  out.append(digits, result.ptr);
}

void append_float(float value, std::string& out) {
  if (append_non_finite(value, out))
    return;
  char digits[32];
  auto result = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::general, 6);
  // SimpleFtoa reads back with strtof and takes its ERANGE as a failure:
  // glibc reports one for every subnormal result, so subnormals get 9 digits.
  if (std::fpclassify(value) == FP_SUBNORMAL || !reads_back(digits, result.ptr, value))
    result = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::general, 9);
  out.append(digits, result.ptr);
}

// Standard base64 with padding: protobuf's own encoder, which its JSON
// converter uses too.
void append_base64(std::string_view bytes, std::string& out) {
  std::string encoded;
  pb::Base64Escape(pb::StringPiece{bytes.data(), bytes.size()}, &encoded);
  out.push_back('"');
  out.append(encoded);
  out.push_back('"');
}

bool append_message(const pb::Message& message, const pb::Descriptor& type, int depth,
                    std::string& out);

void append_enum(const field_descriptor& field, int number, std::string& out) {
  // The first value declared with the number (allow_alias): what the
  // descriptor's lookup returns, and what protobuf prints.
  if (const auto* value = field.enum_type()->FindValueByNumber(number))
    append_quoted(value->name(), out);
  else
    append_integer(number, out);
}

/// The value of a singular field (index < 0) or of one element of a repeated
/// field. `depth` is the depth of `message`.
bool append_value(const pb::Message& message, const pb::Reflection& reflection,
                  const field_descriptor& field, int index, int depth, std::string& out) {
  const bool element = index >= 0;
  switch (field.cpp_type()) {
  case field_descriptor::CPPTYPE_INT32:
    append_integer(element ? reflection.GetRepeatedInt32(message, &field, index)
                           : reflection.GetInt32(message, &field),
                   out);
    break;
  case field_descriptor::CPPTYPE_UINT32:
    append_integer(element ? reflection.GetRepeatedUInt32(message, &field, index)
                           : reflection.GetUInt32(message, &field),
                   out);
    break;
  case field_descriptor::CPPTYPE_INT64:
    append_quoted_integer(element ? reflection.GetRepeatedInt64(message, &field, index)
                                  : reflection.GetInt64(message, &field),
                          out);
    break;
  case field_descriptor::CPPTYPE_UINT64:
    append_quoted_integer(element ? reflection.GetRepeatedUInt64(message, &field, index)
                                  : reflection.GetUInt64(message, &field),
                          out);
    break;
  case field_descriptor::CPPTYPE_DOUBLE:
    append_double(element ? reflection.GetRepeatedDouble(message, &field, index)
                          : reflection.GetDouble(message, &field),
                  out);
    break;
  case field_descriptor::CPPTYPE_FLOAT:
    append_float(element ? reflection.GetRepeatedFloat(message, &field, index)
                         : reflection.GetFloat(message, &field),
                 out);
    break;
  case field_descriptor::CPPTYPE_BOOL:
    out.append((element ? reflection.GetRepeatedBool(message, &field, index)
                        : reflection.GetBool(message, &field))
                 ? "true"
                 : "false");
    break;
  case field_descriptor::CPPTYPE_ENUM:
    append_enum(field,
                element ? reflection.GetRepeatedEnumValue(message, &field, index)
                        : reflection.GetEnumValue(message, &field),
                out);
    break;
  case field_descriptor::CPPTYPE_STRING: {
    std::string scratch;  // filled only for string representations other than std::string
    const std::string& text =
      element ? reflection.GetRepeatedStringReference(message, &field, index, &scratch)
              : reflection.GetStringReference(message, &field, &scratch);
    if (field.type() == field_descriptor::TYPE_BYTES)
      append_base64(text, out);
    else
      append_quoted(text, out);
    break;
  }
  case field_descriptor::CPPTYPE_MESSAGE:
    // The type from the field: GetDescriptor() is a virtual call and, for
    // generated classes, a std::call_once.
    return append_message(element ? reflection.GetRepeatedMessage(message, &field, index)
                                  : reflection.GetMessage(message, &field),
                          *field.message_type(), depth + 1, out);
  }
  return true;
}

// A map key is a JSON name: a string, whatever the key's type.
void append_map_key(const pb::Message& entry, const pb::Reflection& reflection,
                    const field_descriptor& key, std::string& out) {
  switch (key.cpp_type()) {
  case field_descriptor::CPPTYPE_STRING: {
    std::string scratch;
    append_quoted(reflection.GetStringReference(entry, &key, &scratch), out);
    break;
  }
  case field_descriptor::CPPTYPE_BOOL:
    out.append(reflection.GetBool(entry, &key) ? "\"true\"" : "\"false\"");
    break;
  case field_descriptor::CPPTYPE_INT32:
    append_quoted_integer(reflection.GetInt32(entry, &key), out);
    break;
  case field_descriptor::CPPTYPE_UINT32:
    append_quoted_integer(reflection.GetUInt32(entry, &key), out);
    break;
  case field_descriptor::CPPTYPE_INT64:
    append_quoted_integer(reflection.GetInt64(entry, &key), out);
    break;
  case field_descriptor::CPPTYPE_UINT64:
    append_quoted_integer(reflection.GetUInt64(entry, &key), out);
    break;
  default:  // no other type can be a map key
    break;
  }
  out.push_back(':');
}

void append_name(const field_descriptor& field, bool& first, std::string& out) {
  out.append(first ? "\"" : ",\"", first ? 1 : 2);
  first = false;
  append_escaped(field.json_name(), out);
  out.append("\":", 2);
}

bool append_field(const pb::Message& message, const pb::Reflection& reflection,
                  const field_descriptor& field, int depth, std::string& out) {
  if (field.is_map()) {
    // In the order the message holds the entries in, which is the order
    // protobuf serializes (and so prints) them in.
    const auto& entry_type = *field.message_type();
    const auto& key = *entry_type.map_key();
    const auto& value = *entry_type.map_value();
    const int size = reflection.FieldSize(message, &field);
    out.push_back('{');
    for (int i = 0; i < size; ++i) {
      if (i > 0)
        out.push_back(',');
      const auto& entry = reflection.GetRepeatedMessage(message, &field, i);
      const auto& entry_reflection = *entry.GetReflection();
      append_map_key(entry, entry_reflection, key, out);
      // A map entry is no level of its own: its value is one below `message`.
      if (!append_value(entry, entry_reflection, value, -1, depth, out))
        return false;
    }
    out.push_back('}');
    return true;
  }
  if (field.is_repeated()) {
    const int size = reflection.FieldSize(message, &field);
    out.push_back('[');
    for (int i = 0; i < size; ++i) {
      if (i > 0)
        out.push_back(',');
      if (!append_value(message, reflection, field, i, depth, out))
        return false;
    }
    out.push_back(']');
    return true;
  }
  return append_value(message, reflection, field, -1, depth, out);
}

// The set members of oneofs (proto3 `optional` fields are each in a oneof of
// their own) that are not messages: protobuf prints them after all other
// fields, in field-number order (the order they come in on the wire).
void append_set_oneof_scalars(const pb::Message& message, const pb::Descriptor& type,
                              const pb::Reflection& reflection, bool& first, std::string& out) {
  const int oneofs = type.oneof_decl_count();
  std::array<const field_descriptor*, 8> few;
  std::vector<const field_descriptor*> many;
  const field_descriptor** set = few.data();
  if (oneofs > static_cast<int>(few.size())) {
    many.resize(oneofs);
    set = many.data();
  }
  int count = 0;
  for (int i = 0; i < oneofs; ++i) {
    const auto* field = reflection.GetOneofFieldDescriptor(message, type.oneof_decl(i));
    if (field != nullptr && field->cpp_type() != field_descriptor::CPPTYPE_MESSAGE)
      set[count++] = field;
  }
  std::sort(set, set + count,
            [](const auto* a, const auto* b) { return a->number() < b->number(); });
  for (int i = 0; i < count; ++i) {
    append_name(*set[i], first, out);
    append_value(message, reflection, *set[i], -1, 0, out);  // never a message: no depth
  }
}

bool append_message(const pb::Message& message, const pb::Descriptor& type, int depth,
                    std::string& out) {
  if (depth > json_max_depth)
    return false;
  const pb::Reflection& reflection = *message.GetReflection();
  out.push_back('{');
  bool first = true;
  const int fields = type.field_count();
  for (int i = 0; i < fields; ++i) {
    const field_descriptor& field = *type.field(i);
    if (!field.is_repeated()) {
      if (field.cpp_type() == field_descriptor::CPPTYPE_MESSAGE) {
        if (!reflection.HasField(message, &field))
          continue;
      } else if (field.containing_oneof() != nullptr) {
        continue;  // printed last, if set
      }
    }
    append_name(field, first, out);
    if (!append_field(message, reflection, field, depth, out))
      return false;
  }
  if (type.oneof_decl_count() > 0)
    append_set_oneof_scalars(message, type, reflection, first, out);
  out.push_back('}');
  return true;
}

bool is_plain_proto3(const pb::FileDescriptor& file) {
  // google.protobuf's types are proto3 too, but the JSON mapping gives the
  // well-known ones forms of their own ("2024-01-01T00:00:00Z", null, bare
  // values for wrappers).
  return file.syntax() == pb::FileDescriptor::SYNTAX_PROTO3 && file.package() != "google.protobuf";
}

} // namespace

bool json_printer_supports(const pb::Descriptor& type) {
  // Type graphs may be cyclic (a message holding itself): each type is
  // visited once.
  std::unordered_set<const pb::Descriptor*> seen{&type};
  std::vector<const pb::Descriptor*> pending{&type};
  while (!pending.empty()) {
    const pb::Descriptor& next = *pending.back();
    pending.pop_back();
    if (!is_plain_proto3(*next.file()) || next.extension_range_count() > 0)
      return false;
    for (int i = 0; i < next.field_count(); ++i) {
      const field_descriptor& field = *next.field(i);
      switch (field.type()) {
      case field_descriptor::TYPE_GROUP:
        return false;
      case field_descriptor::TYPE_ENUM:
        if (!is_plain_proto3(*field.enum_type()->file()))
          return false;
        break;
      case field_descriptor::TYPE_MESSAGE:
        if (seen.insert(field.message_type()).second)
          pending.push_back(field.message_type());
        break;
      default:
        break;
      }
    }
  }
  return true;
}

bool print_json(const pb::Message& message, std::string& out) {
  return append_message(message, *message.GetDescriptor(), 0, out);
}

} // namespace troupe::gateway
