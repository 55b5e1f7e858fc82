// JSON <-> protobuf for routed calls, by protobuf's JSON mapping.
//
// A request message is filled in this order (a query parameter overrides
// the body; a path binding must agree with both):
//   1. the JSON body, if the route maps one (body "*": the whole message;
//      body "field": that message field). An empty body counts as "{}".
//   2. query parameters: each names a field (proto or JSON name, dotted for
//      nested messages) of a scalar or repeated scalar type; values are
//      percent-decoded and parsed strictly (no spaces, no "+1", no overflow,
//      bools "true"/"false", enums by name or number, bytes as base64).
//      Not allowed when body is "*" (there is no field left for them).
//   3. path bindings, parsed like query values. A path binding is not
//      overridden and does not override: when the body or the query gave
//      its field a value already, that value must be the path's, or the
//      request is a 400 naming the field (`field 'key' is "a" in the body
//      but "b" in the path`). This holds for every binding, not only a keyed
//      service's {key}: a client whose body or query disagrees with its URL
//      has a bug that silently picking one side would hide. Equal values are
//      accepted (a body that repeats the path's key is fine), compared as
//      values, so "1.0" in the path equals 1 in the body. A proto3 field at
//      its default value ("", 0, false) counts as not given.
// Errors name the field at fault and come with their HTTP status: 400 for
// malformed JSON, unknown fields, values of the wrong type; 415 for a body
// whose Content-Type is not application/json.
//
// Replies are printed with every primitive field (so {"value": 0} shows) and
// lowerCamelCase JSON names. Note the JSON mapping prints 64-bit integers as
// strings ({"value": "5"}). Reply types added with add_reply_type() that
// json_printer handles are printed by reflection, the same bytes at a tenth
// of the cost; others (well-known types, proto2) by protobuf's converter.
//
// Thread-safe once set up: add_reply_type() before the instance is shared,
// then one instance serves all I/O threads.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "expected.hpp"
#include "route_template.hpp"
#include "uri.hpp"

namespace google::protobuf {
class Descriptor;
class Message;
namespace util {
class TypeResolver;
} // namespace util
} // namespace google::protobuf

namespace troupe::gateway {

/// What an HTTP request contributes to a request message.
struct request_parts {
  std::string_view body;
  std::string_view content_type;  // empty when the request has none
  std::span<const query_parameter> query;
  std::span<const std::pair<std::string, std::string>> bindings;
};

struct transcode_error {
  unsigned status;     // 400 or 415; 500 for a reply that cannot be decoded
  std::string detail;  // for the client: names the field at fault
};

class transcoder {
public:
  transcoder();
  ~transcoder();

  transcoder(const transcoder&) = delete;
  transcoder& operator=(const transcoder&) = delete;

  /// Builds a message of type `input` from `parts`; `body_rule` is the
  /// route's body ("", "*" or a field name). Bindings to a field that the
  /// message does not have are skipped (the {key} of a keyed service).
  expected<std::unique_ptr<google::protobuf::Message>, transcode_error>
  request_message(const google::protobuf::Descriptor& input, std::string_view body_rule,
                  const request_parts& parts) const;

  /// Lets reply_json() print replies of `type` by reflection when
  /// json_printer can (see json_printer_supports). Set-up only: not while
  /// another thread uses the transcoder.
  void add_reply_type(const google::protobuf::Descriptor& type);

  /// The JSON form of a serialized message of type `output`.
  expected<std::string, transcode_error> reply_json(const google::protobuf::Descriptor& output,
                                                    const std::string& payload) const;

  /// The JSON form of `reply`.
  expected<std::string, transcode_error> reply_json(const google::protobuf::Message& reply) const;

private:
  bool printable(const google::protobuf::Descriptor& type) const {
    return printable_.contains(&type);
  }

  std::unique_ptr<google::protobuf::util::TypeResolver> generated_types_;
  // Reply types json_printer prints; fixed once the transcoder is shared.
  std::unordered_set<const google::protobuf::Descriptor*> printable_;
};

/// True for "application/json", in any case, with or without parameters
/// ("application/json; charset=utf-8").
bool is_json_media_type(std::string_view content_type) noexcept;

} // namespace troupe::gateway
