// One instance of a stateless service: an actor hosting a single activation.
// The node runs the service's configured number of them (or the number the
// cluster gives it, node::scale) and spreads calls over them round robin.
#pragma once

#include <optional>
#include <string>

#include "activation.hpp"
#include "activation_host.hpp"

namespace troupe::runtime {

class stateless_instance : public activation_host {
public:
  /// `instance_name` as "node-1/demo.greeter.v1.Greeter#2".
  stateless_instance(caf::actor_config& cfg, host_context ctx,
                     std::string instance_name);

  caf::behavior make_behavior() override;

  void on_exit() override;

  const char* name() const override {
    return "troupe.stateless_instance";
  }

protected:
  void route(envelope& env, reply_to&& reply) override;
  activation* find_activation(const std::string& key) noexcept override;
  void on_retire(retire_instance& retire) override;

private:
  std::string instance_name_;
  // Created in make_behavior(), on the actor's own thread, so that the
  // service's on_activate runs there like every other call into it.
  std::optional<activation> activation_;
};

} // namespace troupe::runtime
