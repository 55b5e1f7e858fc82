#include "stateless_instance.hpp"

#include <chrono>

#include "reply_mapping.hpp"

namespace troupe::runtime {

stateless_instance::stateless_instance(caf::actor_config& cfg, host_context ctx,
                                       std::string instance_name)
  : activation_host(cfg, ctx), instance_name_(std::move(instance_name)) {
  // nop
}

caf::behavior stateless_instance::make_behavior() {
  activation_.emplace(*this, entry(), std::string{}, instance_name_);
  return activation_host::make_behavior();
}

void stateless_instance::route(envelope& env, reply_to&& reply) {
  // Created in make_behavior(), which CAF runs before the first message.
  activation_->receive(env, std::move(reply));
}

activation* stateless_instance::find_activation(const std::string&) noexcept {
  return activation_ ? &*activation_ : nullptr;
}

void stateless_instance::on_retire(retire_instance& retire) {
  // Callers that resolved the instance before it left the directory may
  // still have calls on the way or in flight: finish them first.
  constexpr auto recheck = std::chrono::milliseconds{100};
  if (retire.ticket->load() != retire.issued)
    return;  // back in service
  if (own_load().inflight() > 0 && std::chrono::steady_clock::now() < retire.give_up_at) {
    delayed_send(this, recheck, std::move(retire));
    return;
  }
  auto issued = retire.issued;
  if (retire.ticket->compare_exchange_strong(issued, 0))
    quit();
}

void stateless_instance::on_exit() {
  if (activation_)
    activation_->stop(status{status_code::unavailable, "the service instance stopped"});
  activation_.reset();
  activation_host::on_exit();
}

} // namespace troupe::runtime
