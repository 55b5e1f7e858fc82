#include "troupe/service.hpp"

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

module_registrar::~module_registrar() = default;

namespace detail {

void unknown_method(call_context& ctx, std::string_view method) {
  ctx.state().fail(
    status{status_code::unimplemented,
           "service " + ctx.service() + " has no method " + std::string{method}});
}

} // namespace detail

} // namespace troupe
