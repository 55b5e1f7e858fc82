#include "cpp_names.hpp"

#include <algorithm>
#include <iterator>

#include <google/protobuf/descriptor.h>

namespace troupe::codegen {

namespace {

// C++ keywords and alternative tokens, sorted for binary search.
constexpr std::string_view cpp_keywords[] = {
  "NULL", "alignas", "alignof", "and", "and_eq", "asm", "atomic_cancel",
  "atomic_commit", "atomic_noexcept", "auto", "bitand", "bitor", "bool", "break",
  "case", "catch", "char", "char16_t", "char32_t", "char8_t", "class", "co_await",
  "co_return", "co_yield", "compl", "concept", "const", "const_cast", "consteval",
  "constexpr", "constinit", "continue", "decltype", "default", "delete", "do",
  "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern",
  "false", "float", "for", "friend", "goto", "if", "inline", "int", "long",
  "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
  "operator", "or", "or_eq", "private", "protected", "public", "reflexpr",
  "register", "reinterpret_cast", "requires", "return", "short", "signed",
  "sizeof", "static", "static_assert", "static_cast", "struct", "switch",
  "synchronized", "template", "this", "thread_local", "throw", "true", "try",
  "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void",
  "volatile", "wchar_t", "while", "xor", "xor_eq",
};
static_assert(std::is_sorted(std::begin(cpp_keywords), std::end(cpp_keywords)));

bool is_keyword(std::string_view word) {
  return std::binary_search(std::begin(cpp_keywords), std::end(cpp_keywords), word);
}

std::string class_name(const google::protobuf::Descriptor* message) {
  std::string name;
  if (auto* parent = message->containing_type())
    name = class_name(parent) + "_";
  name += message->name();
  return name;
}

} // namespace

std::string resolve_keyword(std::string_view word) {
  std::string result{word};
  if (is_keyword(word))
    result += '_';
  return result;
}

std::string cpp_namespace(const google::protobuf::FileDescriptor* file) {
  // Package components are not keyword-resolved: protoc 3.21 does not either.
  std::string result = file->package();
  for (auto dot = result.find('.'); dot != std::string::npos; dot = result.find('.', dot))
    result.replace(dot, 1, "::");
  return result;
}

std::string qualified_class_name(const google::protobuf::Descriptor* message) {
  auto ns = cpp_namespace(message->file());
  return (ns.empty() ? "::" : "::" + ns + "::") + resolve_keyword(class_name(message));
}

} // namespace troupe::codegen
