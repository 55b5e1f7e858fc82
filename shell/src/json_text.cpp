#include "json_text.hpp"

#include <memory>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

namespace troupe::shell {

namespace {

namespace pb = google::protobuf;

constexpr const char* type_url_prefix = "type.googleapis.com";

std::optional<pb::Value> parse(std::string_view text, std::string* error = nullptr) {
  pb::Value value;
  const auto status = pb::util::JsonStringToMessage(pb::StringPiece(text.data(), text.size()), &value);
  if (!status.ok()) {
    if (error)
      *error = std::string(status.message());
    return std::nullopt;
  }
  return value;
}

// protobuf indents by one space per level; JSON text never holds a raw line
// break inside a string, so every line's leading blanks are its indent.
std::string double_indent(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  bool line_start = true;
  for (const char c : text) {
    if (line_start && c == ' ') {
      out += "  ";
      continue;
    }
    line_start = c == '\n';
    out += c;
  }
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

} // namespace

std::optional<std::string> json_syntax_error(std::string_view text) {
  std::string error;
  if (parse(text, &error))
    return std::nullopt;
  // The parser's message may point at the fault on extra lines; keep the first.
  if (const auto eol = error.find('\n'); eol != std::string::npos)
    error.resize(eol);
  return error.empty() ? std::string("malformed JSON") : error;
}

std::string pretty_json(std::string_view text) {
  const auto value = parse(text);
  if (!value)
    return std::string(text);

  // Serializing deterministically sorts the map of a Struct, which is what
  // makes the member order stable from run to run.
  std::string binary;
  {
    pb::io::StringOutputStream stream(&binary);
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    value->SerializeToCodedStream(&coded);
  }
  const std::unique_ptr<pb::util::TypeResolver> resolver(
      pb::util::NewTypeResolverForDescriptorPool(type_url_prefix,
                                                 pb::DescriptorPool::generated_pool()));
  pb::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  const auto status = pb::util::BinaryToJsonString(
      resolver.get(), std::string(type_url_prefix) + "/" + pb::Value::descriptor()->full_name(),
      binary, &json, options);
  if (!status.ok())
    return std::string(text);
  return double_indent(json);
}

} // namespace troupe::shell
