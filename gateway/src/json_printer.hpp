// Replies printed as JSON straight from a message, by reflection: the bytes
// that protobuf's converter (util::BinaryToJsonString / MessageToJsonString,
// version 3.21) prints with always_print_primitive_fields and lowerCamelCase
// names, for the types it handles (json_printer_supports).
//
// The converter rebuilds google.protobuf.Type objects and a tree of default
// values on every call: ~12 000 instructions for {"value":42}, 30% of the
// gateway's CPU per request (callgrind). This walk needs none of that: ~1 900
// instructions for the three fields of the tests' CounterValue, where the
// converter takes ~19 000 (callgrind, -O2, into a reused string).
//
// What protobuf prints, and so this printer (tests/unit/gateway_json_printer_test
// compares the two byte for byte):
//   - fields in declaration order; but members of a oneof (proto3 `optional`
//     included) that are not messages come last, when set, in field-number
//     order: the converter's tree of defaults leaves them out, and appends
//     them as they arrive on the wire;
//   - every singular scalar not in a oneof, its default included; message
//     fields only when set; repeated fields as arrays ([] when empty), maps
//     as objects ({} when empty) with quoted keys, in the order the message
//     holds the entries in (the order it serializes them in; JSON objects
//     being unordered, a map parsed from a service's bytes may come out in
//     another order than those bytes had);
//   - 64-bit integers as quoted decimals; float and double as %.6g and
//     %.15g, or %.9g and %.17g when those do not read back as the same
//     value (protobuf's SimpleFtoa, SimpleDtoa), so not always the shortest
//     form; "NaN", "Infinity", "-Infinity" quoted; bytes as base64 with
//     padding; enums by name (an aliased number by its first name), numbers
//     that no value has as bare numbers;
//   - strings escaped as protobuf's JsonEscaping escapes them: '"', '\\',
//     control characters (U+0000-U+001F, U+007F-U+009F), '<' and '>', and
//     invisible format characters (U+00AD, U+2028, U+FEFF, ...) as \uXXXX;
//     malformed UTF-8 sequences dropped.
#pragma once

#include <string>

namespace google::protobuf {
class Descriptor;
class Message;
} // namespace google::protobuf

namespace troupe::gateway {

/// Messages nested deeper than this below the message printed (a map entry
/// not counting as a level) make protobuf's converter fail ("Message too
/// deep"), and so print_json.
inline constexpr int json_max_depth = 64;

/// Whether print_json() prints messages of `type`: proto3 messages whose
/// fields are, transitively, scalars, strings, bytes, enums, and repeated
/// fields, maps and messages of such types. False for proto2 types, messages
/// with extension ranges, and any google.protobuf.* type (Any, Timestamp,
/// Duration, FieldMask, Struct, Value, NullValue, wrappers, Empty, ...)
/// anywhere in the type graph: the JSON mapping prints those specially, and
/// the caller keeps protobuf's converter for them. Walks the whole type
/// graph (cycles included) on every call: the caller caches the answer.
bool json_printer_supports(const google::protobuf::Descriptor& type);

/// Appends the JSON form of `message` to `out`. Pre:
/// json_printer_supports(*message.GetDescriptor()). Returns false, with
/// `out` holding a part of the document, only when messages nest deeper
/// than json_max_depth. Only reads `message`: threads may print one message
/// at once (a map's list view, built on first use, is built under
/// protobuf's own lock).
bool print_json(const google::protobuf::Message& message, std::string& out);

} // namespace troupe::gateway
