#include "json_text.hpp"

#include <nlohmann/json.hpp>

namespace troupe::shell {

namespace {

using json = nlohmann::ordered_json;

// "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
// without the library's tag, which tells the user nothing.
std::string without_tag(std::string message) {
  if (message.starts_with("[json.exception.")) {
    if (const auto end = message.find("] "); end != std::string::npos)
      message.erase(0, end + 2);
  }
  return message;
}

} // namespace

std::optional<std::string> json_syntax_error(std::string_view text) {
  try {
    [[maybe_unused]] const auto value = json::parse(text);
    return std::nullopt;
  } catch (const json::parse_error& e) {
    auto message = without_tag(e.what());
    return message.empty() ? std::string("malformed JSON") : message;
  }
}

std::string pretty_json(std::string_view text) {
  const auto value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded())
    return std::string(text);
  // The parser accepted only valid UTF-8, so nothing is replaced in practice.
  return value.dump(2, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::optional<std::string> json_member(std::string_view text, std::string_view name) {
  const auto value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object())
    return std::nullopt;
  const auto member = value.find(name);
  if (member == value.end())
    return std::nullopt;
  return member->dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

} // namespace troupe::shell
