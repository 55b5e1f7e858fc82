#include "troupe/service.hpp"

#include <cstddef>
#include <string>

#include "troupe/detail/call_state.hpp"
#include "troupe/module.hpp"

namespace troupe {

service_base::~service_base() = default;

void service_base::on_activate(const std::string&) {
  // nop: services without state to load have nothing to do
}

void service_base::on_passivate() {
  // nop
}

detail::state_access* service_base::declared_state() noexcept {
  return nullptr;
}

module_registrar::~module_registrar() = default;

namespace detail {

namespace {

/// `text` quoted for a message: ASCII control characters as \xNN, quote and
/// backslash escaped, cut after `max_bytes` (at a character boundary) with
/// "...". (The gateway makes what it shows a client valid UTF-8 itself.)
std::string quoted(std::string_view text, std::size_t max_bytes = 64) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool continuation = (c & 0xC0) == 0x80;
    if (i >= max_bytes && !continuation) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 0xF];
    } else {
      if (c == '"' || c == '\\')
        out += '\\';
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

} // namespace

void refuse_other_key(call_context& ctx, std::string_view field_name, std::string_view value) {
  ctx.state().fail(status{status_code::invalid_argument,
                          "field '" + std::string{field_name} + "' is " + quoted(value)
                            + " but the call is for key " + quoted(ctx.key())});
}

void unknown_method(call_context& ctx, std::string_view method) {
  ctx.state().fail(
    status{status_code::unimplemented,
           "service " + ctx.service() + " has no method " + std::string{method}});
}

} // namespace detail

} // namespace troupe
